// `pnpm bench:formats`: what the record format costs on the produce path, every variant in the same run against
// the same real Kafka: json without CloudEvents headers, json with them (the default), and debezium with them.
// Each pass produces the same changes (events of ~2 KB, one in ten a confirmed delete with its tombstone) through
// the EventProducer — fence, encoder, KafkaRecordSink (acks=all, idempotent) — as POSTs of 20 at a fixed
// concurrency; passes alternate between the variants, round after round, so drift hits all alike. Also the
// encoder's own CPU cost per change, without Kafka.
//
//   pnpm bench:formats                        2,000 changes per pass, 3 rounds, 8 POSTs at once
//   pnpm bench:formats --changes 5000 --rounds 5 --concurrency 16
import os from 'node:os';
import {
  changeRecords,
  EventProducer,
  KafkaRecordSink,
  MemoryKeyFence,
  RecordEncoder,
  silentLogger,
  TopicRouter,
  VALUE_FORMAT_WRITERS,
  type ChangeRecords,
  type CloudEventsMode,
  type KafkaSettings,
  type ValueFormatName,
} from '@graph2kafka/core';
import { provideBroker } from '@graph2kafka/kafka-local';
import { TopicReader } from '@graph2kafka/testkit';
import { parseCommandLine } from '../args.ts';

const USAGE = `pnpm bench:formats [options]: the produce path's throughput and latency per value format and CloudEvents setting
  --changes N       changes produced per pass (default 2000)
  --rounds N        rounds of one pass per variant (default 3)
  --concurrency N   POSTs of 20 in flight at once (default 8)
  --client C        the producer library, kafkajs (default) or platformatic`;
const { values: args } = parseCommandLine(USAGE, {
  options: {
    changes: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    client: { type: 'string', default: 'kafkajs' },
  },
});
const CHANGES = Number(args.changes);
const ROUNDS = Number(args.rounds);
const CONCURRENCY = Number(args.concurrency);
const PER_POST = 20;
const log = (line: string): void => console.log(`[bench:formats] ${line}`);
if (args.client !== 'kafkajs' && args.client !== 'platformatic') {
  console.error(`[bench:formats] --client must be kafkajs or platformatic, got ${args.client}`);
  process.exit(2);
}

interface Variant {
  name: string;
  format: ValueFormatName;
  cloudEvents: CloudEventsMode;
}
const VARIANTS: Variant[] = [
  { name: 'json, CloudEvents off', format: 'json', cloudEvents: 'off' },
  { name: 'json, CloudEvents on (default)', format: 'json', cloudEvents: 'binary' },
  { name: 'debezium, CloudEvents on', format: 'debezium', cloudEvents: 'binary' },
];

const TENANT = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
const APP = 'b3a9d5c1-2e4f-4a6b-8c7d-9e0f1a2b3c4d';
const users = Array.from({ length: 50 }, (_, i) => `1d5c2b8a-7e3f-4c91-b6a0-${String(i).padStart(12, '0')}`);

/** The same changes for every pass: events of ~2 KB read from Graph, one in ten a confirmed delete. */
function changes(at: number): ChangeRecords[] {
  return Array.from({ length: CHANGES }, (_, i) => {
    const userId = users[i % users.length]!;
    const id = `AAMkAGI2TG93AAA${i.toString(36).padStart(6, '0')}=`;
    const deleted = i % 10 === 9;
    return changeRecords(
      {
        source: 'notification',
        changeType: deleted ? 'deleted' : i % 3 ? 'updated' : 'created',
        kind: 'events',
        tenantId: TENANT,
        target: { userId },
        itemId: id,
        resource: `Users/${userId}/Events/${id}`,
        subscriptionId: '40e3b8a9-f765-4a6d-8b21-276b14a46b25',
        notificationId: `n-${i}`,
        subscriptionExpirationDateTime: '2026-12-10T09:00:00Z',
      },
      deleted
        ? { kind: 'gone' }
        : {
            kind: 'found',
            item: {
              id,
              subject: `Meeting ${i}`,
              bodyPreview: 'x'.repeat(1_200),
              start: { dateTime: '2026-12-05T09:00:00.0000000', timeZone: 'UTC' },
              end: { dateTime: '2026-12-05T10:00:00.0000000', timeZone: 'UTC' },
              attendees: Array.from({ length: 5 }, (_, a) => ({
                emailAddress: { name: `Attendee ${a}`, address: `a${a}@contoso.com` },
                type: 'required',
              })),
              changeKey: `DwAAABYAAAA${i}`,
              lastModifiedDateTime: '2026-12-04T08:59:58Z',
            },
          },
      at,
    );
  });
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round1 = (n: number): number => Math.round(n * 10) / 10;

const kafka = await provideBroker(log);
const settings: KafkaSettings = {
  brokers: kafka.brokers,
  client: args.client,
  clientId: 'g2k-bench-formats',
  ssl: false,
  sslCaPem: undefined,
  sasl: undefined,
  maxRecordBytes: 1_000_000,
};
const sink = new KafkaRecordSink(settings, silentLogger);
const suffix = Date.now();
const topics = VARIANTS.map((_, v) => `bench.formats.${suffix}.${v}`);
// Created up front, as in production.
for (const t of topics) await (await TopicReader.start(kafka.brokers, t, { validate: false })).stop();
const encoders = VARIANTS.map(
  (v) => new RecordEncoder({ format: VALUE_FORMAT_WRITERS[v.format], cloudEvents: v.cloudEvents, appId: APP }),
);

/** One pass: every change once, POSTs of 20, `CONCURRENCY` at a time; per-POST produce latency. */
async function pass(v: number): Promise<{ seconds: number; latencies: number[]; records: number; bytes: number }> {
  const fixed = {
    events: topics[v]!,
    messages: 'x',
    contacts: 'x',
    users: 'x',
    groups: 'x',
    channelMessages: 'x',
    chatMessages: 'x',
    chats: 'x',
    lifecycle: 'x',
    deadLetter: 'x',
  };
  const producer = new EventProducer({
    sink,
    router: new TopicRouter(fixed),
    encoder: encoders[v]!,
    maxRecordBytes: 1_000_000,
    logger: silentLogger,
    fence: new MemoryKeyFence(),
  });
  const all = changes(Date.now());
  const posts: ChangeRecords[][] = [];
  for (let i = 0; i < all.length; i += PER_POST) posts.push(all.slice(i, i + PER_POST));
  const latencies: number[] = [];
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < posts.length) {
        const post = posts[next++]!;
        const started = performance.now();
        const tokens = await producer.observe(post.map((c) => `${c.facts.tenantId}|events|${c.facts.userId}`));
        const results = await producer.produce(
          post.map((records) => ({
            records,
            notification: null,
            token: tokens.get(`${records.facts.tenantId}|events|${records.facts.userId}`)!,
          })),
          Date.now() + 10_000,
        );
        const failed = results.filter((r) => r.status !== 'produced');
        if (failed.length) throw new Error(`a POST was not produced: ${JSON.stringify(failed[0])}`);
        latencies.push(performance.now() - started);
      }
    }),
  );
  const seconds = (performance.now() - began) / 1_000;
  const written = all.flatMap((c) => encoders[v]!.change(c, topics[v]!));
  const bytes = written.reduce(
    (n, r) =>
      n +
      (r.value === null ? 0 : Buffer.byteLength(r.value)) +
      Object.entries(r.headers).reduce((h, [k, x]) => h + Buffer.byteLength(k) + Buffer.byteLength(x), 0),
    0,
  );
  return { seconds, latencies, records: written.length, bytes: bytes / written.length };
}

/** The encoder alone: microseconds per change, best of five loops over every change. */
function encodeCost(v: number): number {
  const all = changes(Date.now());
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const began = performance.now();
    for (const c of all) encoders[v]!.change(c, topics[v]!);
    best = Math.min(best, ((performance.now() - began) * 1_000) / all.length);
  }
  return best;
}

try {
  log(
    `${args.client}: ${CHANGES} changes per pass (${CHANGES / 10} deletes with tombstones), POSTs of ${PER_POST}, ${CONCURRENCY} at once, ${ROUNDS} rounds; ${os.cpus().length} CPUs, Node ${process.version}`,
  );
  await pass(0); // warm-up: connection, JIT
  const results = VARIANTS.map(() => ({ rates: [] as number[], latencies: [] as number[], bytes: 0 }));
  for (let r = 0; r < ROUNDS; r++)
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = (k + r) % VARIANTS.length; // each variant goes first in some round
      const p = await pass(v);
      results[v]!.rates.push(p.records / p.seconds);
      results[v]!.latencies.push(...p.latencies);
      results[v]!.bytes = p.bytes;
      log(`round ${r + 1} ${VARIANTS[v]!.name}: ${Math.round(p.records / p.seconds)} records/s`);
    }
  const rows = VARIANTS.map((variant, v) => {
    const sorted = [...results[v]!.latencies].sort((a, b) => a - b);
    const rates = [...results[v]!.rates].sort((a, b) => a - b);
    return {
      variant: variant.name,
      recordsPerSecond: Math.round(percentile(rates, 50)),
      postP50Ms: round1(percentile(sorted, 50)),
      postP99Ms: round1(percentile(sorted, 99)),
      bytesPerRecord: Math.round(results[v]!.bytes),
      encodeMicrosPerChange: round1(encodeCost(v)),
    };
  });
  console.log(
    '\n| Variant | records/s (median pass) | POST of 20 p50 ms | p99 ms | bytes per record (value + headers) | encode µs per change |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows)
    console.log(
      `| ${r.variant} | ${r.recordsPerSecond} | ${r.postP50Ms} | ${r.postP99Ms} | ${r.bytesPerRecord} | ${r.encodeMicrosPerChange} |`,
    );
} finally {
  await sink.close();
  await kafka.stop();
}
