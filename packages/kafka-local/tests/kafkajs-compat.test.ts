// Proves that kafkajs 2.2.4, graph2kafka's client, speaks correctly with the broker version we run: topic
// creation, the idempotent producer with acks=-1, consumer groups, and SASL PLAIN and SCRAM-SHA-512.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { IHeaders, KafkaConfig, SASLOptions } from 'kafkajs';
import { connectionFromEnv } from '../src/index.ts';

jest.setTimeout(60_000);

const connection = connectionFromEnv();

interface Received {
  key: string;
  seq: number;
  partition: number;
  headers: IHeaders;
}

function kafka(config: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({ clientId: 'g2k-compat-test', brokers: connection.brokers, logLevel: logLevel.NOTHING, ...config });
}

async function roundTrip(
  client: Kafka,
  messageCount: number,
  keyCount: number,
): Promise<{ received: Received[]; partitionsUsed: Set<number> }> {
  const topic = `compat-${randomUUID()}`;
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  expect(metadata.topics[0]?.partitions).toHaveLength(3);
  await admin.disconnect();

  const producer = client.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const messages = Array.from({ length: messageCount }, (_, seq) => ({
    key: `key-${seq % keyCount}`,
    value: JSON.stringify({ seq }),
    headers: { 'g2k-seq': String(seq), 'g2k-kind': 'compat' },
  }));
  // Several sends, so that per-key order is checked across requests and not only inside one batch.
  for (let start = 0; start < messages.length; start += 100) {
    const acks = await producer.send({ topic, acks: -1, messages: messages.slice(start, start + 100) });
    expect(acks.every((ack) => ack.errorCode === 0)).toBe(true);
  }
  await producer.disconnect();

  const consumer = client.consumer({ groupId: `compat-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: Received[] = [];
  const partitionsUsed = new Set<number>();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${received.length} of ${messageCount} in 45 s`)), 45_000);
    consumer
      .run({
        eachMessage: ({ partition, message }) => {
          partitionsUsed.add(partition);
          received.push({
            key: message.key?.toString() ?? '',
            seq: (JSON.parse(message.value?.toString() ?? '{}') as { seq: number }).seq,
            partition,
            headers: message.headers ?? {},
          });
          if (received.length >= messageCount) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return { received, partitionsUsed };
}

function expectPerKeyOrder(received: Received[]): void {
  const lastSeqByKey = new Map<string, number>();
  const partitionByKey = new Map<string, number>();
  for (const { key, seq, partition } of received) {
    expect(seq).toBeGreaterThan(lastSeqByKey.get(key) ?? -1);
    lastSeqByKey.set(key, seq);
    expect(partitionByKey.get(key) ?? partition).toBe(partition);
    partitionByKey.set(key, partition);
  }
}

describe('kafkajs 2.2.4 against the local broker', () => {
  it('produces 1,000 keyed messages with headers idempotently (acks=-1) and a consumer group reads them back in per-key order', async () => {
    const { received, partitionsUsed } = await roundTrip(kafka(), 1_000, 37);

    expect(received).toHaveLength(1_000);
    expect(new Set(received.map((message) => message.seq)).size).toBe(1_000);
    expect(partitionsUsed.size).toBe(3);
    expectPerKeyOrder(received);
    for (const { seq, headers } of received) {
      expect(headers['g2k-seq']?.toString()).toBe(String(seq));
      expect(headers['g2k-kind']?.toString()).toBe('compat');
    }
  });

  const mechanisms: Array<[string, () => SASLOptions]> = [
    ['PLAIN', () => ({ mechanism: 'plain', ...connection.plainUser })],
    ['SCRAM-SHA-512', () => ({ mechanism: 'scram-sha-512', ...connection.scramUser })],
  ];

  describe.each(mechanisms)('over the SASL_PLAINTEXT listener with %s', (_name, sasl) => {
    it('produces and consumes keyed messages with headers in per-key order', async () => {
      const { received } = await roundTrip(kafka({ brokers: connection.saslBrokers, sasl: sasl() }), 200, 7);

      expect(received).toHaveLength(200);
      expectPerKeyOrder(received);
      expect(received.every(({ seq, headers }) => headers['g2k-seq']?.toString() === String(seq))).toBe(true);
    });

    it('refuses a wrong password with an authentication error', async () => {
      const wrong = { ...sasl(), password: 'not-the-password' } as SASLOptions;
      const admin = kafka({ brokers: connection.saslBrokers, sasl: wrong, retry: { retries: 0 } }).admin();

      const failure = admin.connect();

      await expect(failure).rejects.toMatchObject({
        name: 'KafkaJSSASLAuthenticationError',
        message: expect.stringMatching(/SASL .*authentication failed/i),
      });
      await admin.disconnect();
    });
  });
});
