// `pnpm bench:fence`: what keeping the topic a replica of Graph costs, on the PostgreSQL state store (or, with
// `--store table`, Table Storage's fence on Azurite).
//  - the key fence on the answer path: POSTs of 20 notifications (each item read from graph-sim through $batch,
//    produced to real Kafka) with the fence on and with a fence that lets everything through, alternating;
//    state-store operations per record and the answer's p50/p99;
//  - a snapshot: items per second produced from mailboxes of existing events, through Graph's delta pages;
//  - the sweep: Graph requests per target per round when nothing changed, and per day at G2K_SWEEP_HOURS=6.
//
//   pnpm bench:fence                                      20 mailboxes of 500 events, 1,000 POSTs per pass, 3 rounds
//   pnpm bench:fence --mailboxes 50 --events 1000 --posts 1000 --concurrency 16
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Collection,
  createAppFromEnv,
  PostgresDocumentStore,
  syncCollection,
  TableDocumentStore,
  silentLogger,
  type DocumentStore,
  type KeyFence,
} from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { provideBroker } from '@graph2kafka/kafka-local';
import { freePort, pipelineEnv, startAzuriteTable, startPostgres } from '@graph2kafka/testkit';
import { serveApp } from '@graph2kafka/core/http';
import { parseCommandLine } from '../args.ts';

const USAGE = `pnpm bench:fence [options]: what the key fence, the snapshot and the sweep cost, on a state store
  --mailboxes N     mailboxes (default 20)
  --events N        existing events per mailbox (default 500)
  --posts N         POSTs of 20 notifications per pass (default 1000)
  --concurrency N   POSTs at once (default 8)
  --rounds N        rounds of alternating passes, fence on and open (default 3)
  --store S         postgres (default) or table: Table Storage's fence, on Azurite`;
const { values: args } = parseCommandLine(USAGE, {
  options: {
    mailboxes: { type: 'string', default: '20' },
    events: { type: 'string', default: '500' },
    posts: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    store: { type: 'string', default: 'postgres' },
  },
});
const mailboxCount = Number(args.mailboxes);
const eventsPerMailbox = Number(args.events);
const postsPerPass = Number(args.posts);
const concurrency = Number(args.concurrency);
const log = (line: string): void => console.log(`[bench:fence] ${line}`);
const PER_POST = 20;

/** The fence, counting its round trips; `open` lets every claim through (the run without the fence). */
class CountingFence implements KeyFence {
  calls = 0;
  open = false;
  private readonly inner: KeyFence;
  constructor(inner: KeyFence) {
    this.inner = inner;
  }
  begin(scopes: readonly string[]): Promise<Map<string, number>> {
    if (this.open) return Promise.resolve(new Map(scopes.map((s) => [s, 1])));
    this.calls++;
    return this.inner.begin(scopes);
  }
  claim(claims: Parameters<KeyFence['claim']>[0]): ReturnType<KeyFence['claim']> {
    if (this.open) return Promise.resolve(claims.map(() => 'won' as const));
    this.calls++;
    return this.inner.claim(claims);
  }
  overtaken(marks: Parameters<KeyFence['overtaken']>[0]): ReturnType<KeyFence['overtaken']> {
    if (this.open) return Promise.resolve(marks.map(() => false));
    this.calls++;
    return this.inner.overtaken(marks);
  }
  prune(before: Date, goneBefore: Date, deadline: number): Promise<number> {
    return this.inner.prune(before, goneBefore, deadline);
  }
}

const kafka = await provideBroker(log);
if (args.store !== 'postgres' && args.store !== 'table') {
  console.error(`--store must be postgres or table (Azurite), got ${args.store}`);
  process.exit(2);
}
const onTable = args.store === 'table';
// The state store under test: a real PostgreSQL server, or Azurite's Table service (Table Storage's fence).
const postgres = onTable ? undefined : await startPostgres();
const azurite = onTable ? await startAzuriteTable() : undefined;
const tableName = `g2kbench${Date.now()}`;
const sim = await GraphSim.start({
  delivery: { batchWindowMs: 20 },
  extraUsersPerTenant: mailboxCount,
  tokenLifetimeMinutes: { min: 20_000, max: 20_000 },
  maxRecords: 200_000,
  // The bench's own POSTs read Graph at the pace it sets, not the simulated mailbox quotas.
  throttling: { mailboxConcurrency: 10_000, mailboxRequestsPer10Min: 10_000_000, batchItemConcurrency: 10_000 },
});
const backend: DocumentStore = azurite
  ? TableDocumentStore.fromConnectionString(azurite.connectionString, tableName)
  : new PostgresDocumentStore(postgres!.url);
const fence = new CountingFence(backend.keyFence());
const store = new Proxy(backend, {
  get: (target, p, receiver): unknown => (p === 'keyFence' ? () => fence : Reflect.get(target, p, receiver)),
});
let served: Awaited<ReturnType<typeof serveApp>> | undefined;
try {
  const users = sim.directory
    .listUsers(sim.defaults.tenantId)
    .filter((u) => u.userPrincipalName.startsWith('user-'))
    .slice(0, mailboxCount)
    .map((u) => u.id);
  const ids = new Map<string, string[]>();
  for (const userId of users)
    ids.set(
      userId,
      Array.from({ length: eventsPerMailbox }, (_, i) => {
        const day = `2026-12-${String(10 + (i % 15)).padStart(2, '0')}`;
        return sim.createEvent(userId, { subject: `bench ${i}`, start: `${day}T09:00:00Z`, end: `${day}T10:00:00Z` })
          .immutableId;
      }),
    );
  const port = await freePort();
  const file = join(tmpdir(), `g2k-bench-fence-${process.pid}.json`);
  writeFileSync(file, JSON.stringify({ subscriptions: [{ kind: 'events', users }] }));
  const setup = pipelineEnv(sim, {
    KAFKA_BROKERS: kafka.brokers.join(','),
    ...(azurite
      ? {
          G2K_STATE_STORE: 'azure-table-connection-string',
          G2K_TABLE_CONNECTION_STRING: azurite.connectionString,
          G2K_TABLE_NAME: tableName,
        }
      : { G2K_STATE_STORE: 'postgres', G2K_POSTGRES_URL: postgres!.url }),
    G2K_NOTIFICATION_URL: `http://127.0.0.1:${port}/notifications`,
    G2K_LIFECYCLE_URL: `http://127.0.0.1:${port}/lifecycle`,
    G2K_SUBSCRIPTIONS_FILE: file,
  });
  const app = await createAppFromEnv(setup.env, [], { logger: silentLogger, documents: store });
  const syncStates = new Collection(app.documents, syncCollection);
  served = await serveApp(app, port);

  // The snapshot: every existing event of every mailbox, in the run that creates the subscriptions.
  const requestsBefore = sim.records.requests.all().length;
  const snapStarted = performance.now();
  const created = await app.manager!.reconcile();
  const snapSeconds = (performance.now() - snapStarted) / 1_000;
  const items = (await syncStates.list()).reduce((n, s) => n + (s.snapshotItems ?? 0), 0);
  log(
    `snapshot: ${created.snapshotted.length} targets, ${items} items in ${snapSeconds.toFixed(1)} s (${Math.round(items / snapSeconds)} items/s, subscriptions created in the same run; ${sim.records.requests.all().length - requestsBefore} Graph requests in all)`,
  );

  // The sweep: every target due, nothing changed since its snapshot.
  for (const s of await syncStates.list())
    await syncStates.put({ ...s, updatedAt: new Date(Date.now() - 7 * 3_600_000).toISOString() });
  const sweepBefore = sim.records.requests.all().length;
  const report = await app.manager!.reconcile();
  const perRound = (sim.records.requests.all().length - sweepBefore) / Math.max(1, report.swept);
  log(
    `sweep: ${report.swept} targets, ${perRound.toFixed(2)} Graph requests per target per round when nothing changed (whose reconcile reads: subscription list included), ${(perRound * 4).toFixed(1)} per target per day at G2K_SWEEP_HOURS=6`,
  );

  // The answer path: POSTs of 20 updated notifications of distinct events, fence on and open, alternating.
  const subs = (await app.subscriptions.list()).filter((r) => !r.pending);
  const body = (n: number): Buffer => {
    const sub = subs[n % subs.length]!;
    const events = ids.get(sub.userId)!;
    const value = Array.from({ length: PER_POST }, (_, i) => {
      const id = events[(n * PER_POST + i) % events.length]!;
      return {
        id: `bench-${n}-${i}`,
        subscriptionId: sub.id,
        changeType: 'updated',
        resource: `Users/${sub.userId}/Events/${id}`,
        clientState: sub.clientState,
        tenantId: sub.tenantId,
      };
    });
    return Buffer.from(JSON.stringify({ value }));
  };
  const pass = async (open: boolean): Promise<{ rate: number; p50: number; p99: number; ops: number }> => {
    fence.open = open;
    const callsBefore = fence.calls;
    const ms: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < postsPerPass) {
          const n = next++;
          const t = performance.now();
          const answer = await app.receiver.handle(body(n), Date.now());
          if (answer.status !== 202) throw new Error(`a POST was answered ${answer.status}: ${answer.body}`);
          ms.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1_000;
    ms.sort((a, b) => a - b);
    return {
      rate: postsPerPass / seconds,
      p50: ms[Math.floor(ms.length * 0.5)]!,
      p99: ms[Math.floor(ms.length * 0.99)]!,
      ops: (fence.calls - callsBefore) / (postsPerPass * PER_POST),
    };
  };
  await pass(false); // warm-up: connections, JIT, token
  const results: Record<'on' | 'open', Array<Awaited<ReturnType<typeof pass>>>> = { on: [], open: [] };
  for (let round = 0; round < Number(args.rounds); round++) {
    results.open.push(await pass(true));
    results.on.push(await pass(false));
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const name of ['open', 'on'] as const) {
    const r = results[name];
    log(
      `POSTs of ${PER_POST}, fence ${name === 'on' ? 'on  ' : 'open'}: ${mean(r.map((x) => x.rate)).toFixed(0)} POSTs/s (${r.map((x) => x.rate.toFixed(0)).join(', ')}), p50 ${mean(r.map((x) => x.p50)).toFixed(0)} ms, p99 ${mean(r.map((x) => x.p99)).toFixed(0)} ms, fence store operations per record ${mean(r.map((x) => x.ops)).toFixed(3)}`,
    );
  }
  const cost = 1 - mean(results.on.map((x) => x.rate)) / mean(results.open.map((x) => x.rate));
  log(
    `the fence costs ${(cost * 100).toFixed(1)}% of the POSTs-of-${PER_POST} throughput (concurrency ${concurrency})`,
  );
  await app.close();
} finally {
  await served?.close();
  await sim.stop();
  await postgres?.stop();
  await azurite?.stop();
  await kafka.stop();
}
