import { Socket } from 'node:net';
import { brokersFromEnv } from '@graph2kafka/kafka-local';
import { freePort, TopicReader } from '@graph2kafka/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaRecordSink, silentLogger, type KafkaSettings } from '../src/index.ts';
import { ProduceError } from '../src/errors.ts';

/**
 * The producer contract both Kafka libraries must keep behind KafkaRecordSink (KAFKA_CLIENT), against the
 * real local broker: what the function's answer to Graph relies on.
 */
const settings = (client: KafkaSettings['client'], brokers = brokersFromEnv()): KafkaSettings => ({
  brokers,
  client,
  clientId: `g2k-contract-${client}`,
  ssl: false,
  sslCaPem: undefined,
  sasl: undefined,
  maxRecordBytes: 1_000_000,
});

let seq = 0;
const topicName = (what: string) => `test.sink.${what}.${process.pid}.${Date.now()}.${seq++}`;

async function createTopic(topic: string, configEntries: Array<{ name: string; value: string }> = []) {
  const kafka = new Kafka({ clientId: 'g2k-test-admin', brokers: brokersFromEnv(), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, configEntries }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** This process's open sockets to the broker (a socket's port there names it), as `local port → broker port`. */
function socketsToBroker(): string[] {
  const ports = new Set(brokersFromEnv().map((b) => Number(b.slice(b.lastIndexOf(':') + 1))));
  // Node's list of what keeps the process alive: the only way to see a socket a library opened and kept.
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles
    .filter((h): h is Socket => h instanceof Socket && h.remotePort !== undefined && ports.has(h.remotePort))
    .map((h) => `${h.localPort} → ${h.remotePort}`);
}

/** The sink's contract is tested with records of the test's own making, not graph2kafka's: nothing to validate. */
const FOREIGN = { validate: false };

describe.each(['kafkajs', 'platformatic'] as const)('the record sink on %s', (client) => {
  it('delivers keyed records with headers and tombstones, acknowledged by all replicas, read back in order', async () => {
    const topic = topicName('order');
    const reader = await TopicReader.start(brokersFromEnv(), topic, FOREIGN);
    const sink = new KafkaRecordSink(settings(client), silentLogger);
    try {
      // Concurrent sends, as concurrent POSTs make them: grouped into shared requests, each acknowledged.
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          sink.send(topic, [{ key: `k${i % 4}`, value: `v${i}`, headers: { 'g2k-seq': String(i) } }], 10_000),
        ),
      );
      await sink.send(topic, [{ key: 'k0', value: null, headers: { 'g2k-tombstone': 'true' } }], 10_000);
      const records = await reader.waitFor(21);
      expect(records).toHaveLength(21);
      for (const key of ['k1', 'k2', 'k3'])
        expect(records.filter((r) => r.key === key).map((r) => Number(r.headers['g2k-seq']))).toEqual(
          [...Array(20).keys()].filter((i) => `k${i % 4}` === key),
        );
      const k0 = records.filter((r) => r.key === 'k0');
      expect(k0.at(-1)).toMatchObject({ value: null, headers: { 'g2k-tombstone': 'true' } });
      expect(k0.slice(0, -1).map((r) => r.value)).toEqual(['v0', 'v4', 'v8', 'v12', 'v16']);
    } finally {
      await sink.close();
      await reader.stop();
    }
  });

  it('puts every key on the partition the other library chooses (Java murmur2), so a switch keeps per-key order', async () => {
    const topic = topicName('partitions');
    const reader = await TopicReader.start(brokersFromEnv(), topic, FOREIGN);
    const sinks = [
      new KafkaRecordSink(settings(client), silentLogger),
      new KafkaRecordSink(settings(client === 'kafkajs' ? 'platformatic' : 'kafkajs'), silentLogger),
    ];
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `tenant/user/event-${i}`);
      for (const sink of sinks)
        await sink.send(
          topic,
          keys.map((key) => ({ key, value: 'x', headers: {} })),
          10_000,
        );
      const records = await reader.waitFor(60);
      const partitions = new Map<string, Set<number>>();
      for (const r of records) partitions.set(r.key!, (partitions.get(r.key!) ?? new Set()).add(r.partition));
      expect([...partitions.values()].every((p) => p.size === 1)).toBe(true);
      expect(new Set(records.map((r) => r.partition)).size).toBe(3);
    } finally {
      for (const sink of sinks) await sink.close();
      await reader.stop();
    }
  });

  it('fails only the send of a record the broker refuses for what it is (permanent); the rest are acknowledged', async () => {
    const topic = topicName('poison');
    await createTopic(topic, [{ name: 'max.message.bytes', value: '2000' }]);
    const reader = await TopicReader.start(brokersFromEnv(), topic, FOREIGN);
    const sink = new KafkaRecordSink(settings(client), silentLogger);
    try {
      const results = await Promise.allSettled([
        sink.send(topic, [{ key: 'a', value: 'small', headers: {} }], 10_000),
        sink.send(topic, [{ key: 'poison', value: 'x'.repeat(5_000), headers: {} }], 10_000),
        sink.send(topic, [{ key: 'b', value: 'small too', headers: {} }], 10_000),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const refused = (results[1] as PromiseRejectedResult).reason as ProduceError;
      expect(refused).toBeInstanceOf(ProduceError);
      expect(refused.permanent).toBe(true);
      // The producer goes on after the refusal: the idempotent sequence was not left broken.
      await sink.send(topic, [{ key: 'c', value: 'after', headers: {} }], 10_000);
      await reader.waitForMatch((r) => r.key === 'c');
      // At least once: a neighbour the broker took in the shared request is sent again on its own.
      expect(new Set(reader.records.map((r) => r.key))).toEqual(new Set(['a', 'b', 'c']));
    } finally {
      await sink.close();
      await reader.stop();
    }
  });

  it('leaves no connection to the broker when closed while a send is with it', async () => {
    const [first, second] = [topicName('before-close'), topicName('at-close')];
    await createTopic(first);
    await createTopic(second);
    const before = new Set(socketsToBroker());
    const opened = () => socketsToBroker().filter((s) => !before.has(s));
    const sink = new KafkaRecordSink(settings(client), silentLogger);
    await sink.send(first, [{ key: 'k', value: 'v', headers: {} }], 10_000);
    // A topic new to the connected producer: its send first asks the broker for the topic's metadata, and close
    // comes while it does (a background repair's send when a serverless instance is shut down).
    const sending = sink.send(second, [{ key: 'k', value: 'v', headers: {} }], 3_000).then(
      () => 'sent',
      (e: unknown) => (e instanceof ProduceError && /closed/.test(e.message) ? 'refused as closed' : String(e)),
    );
    // One turn of the event loop: the library has taken the send and is asking the broker.
    await new Promise((resolve) => setImmediate(resolve));
    await sink.close();
    // Either way the send ends (within its 3 s); whatever it did, nothing of the sink may stay connected.
    const outcome = await sending;
    // A socket the library is still closing goes within moments; one it opened after close stays for good.
    const deadline = Date.now() + 2_000;
    while (opened().length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(opened()).toEqual([]);
    expect(['sent', 'refused as closed']).toContain(outcome);
  }, 20_000);

  it('fails a send to an unreachable broker within its time, as retryable, and refuses sends after close', async () => {
    const sink = new KafkaRecordSink(settings(client, [`127.0.0.1:${await freePort()}`]), silentLogger);
    const started = Date.now();
    const err = await sink
      .send('test.sink.unreachable', [{ key: 'k', value: 'v', headers: {} }], 2_500)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProduceError);
    expect((err as ProduceError).permanent).toBe(false);
    expect(Date.now() - started).toBeLessThan(3_000);
    await sink.close();
    const live = new KafkaRecordSink(settings(client), silentLogger);
    await live.close();
    await expect(live.send(topicName('closed'), [{ key: 'k', value: 'v', headers: {} }], 2_000)).rejects.toThrow(
      /closed/,
    );
  });
});
