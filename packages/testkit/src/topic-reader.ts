import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { recordSchemaError } from './record-validator.ts';

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** How long `waitFor` and `waitForMatch` wait for records by default. */
export const READ_TIMEOUT_MS = 20_000;
/**
 * Allowance for `TopicReader.start` (a topic created with its leaders, a consumer group joined), which has no
 * deadline of its own beyond kafkajs's retries: what a test's timeout adds for each reader it starts.
 */
export const READER_START_MS = 15_000;

export interface ReaderOptions {
  /**
   * Check every record against its published JSON Schema (packages/core/schemas), and fail the test's next wait
   * (and `stop`) on one that does not match. Off only for a topic a test writes foreign records to itself.
   */
  validate?: boolean;
}

/**
 * Reads a topic from the beginning with a consumer group of its own, collecting every record, each checked
 * against the schema graph2kafka publishes for it: a field added to a record and not to its schema fails the
 * test that reads it.
 */
export class TopicReader {
  readonly records: ReadRecord[] = [];
  /** Records that did not match their schema, each as `partition/offset key: why`. */
  readonly schemaErrors: string[] = [];
  private readonly consumer: Consumer;
  private readonly kafka: Kafka;
  private readonly topic: string;
  /** Per partition, the offset after the last record read. */
  private readonly next = new Map<number, bigint>();

  private constructor(kafka: Kafka, consumer: Consumer, topic: string) {
    this.kafka = kafka;
    this.consumer = consumer;
    this.topic = topic;
  }

  static async start(brokers: string[], topic: string, options: ReaderOptions = {}): Promise<TopicReader> {
    const kafka = new Kafka({ clientId: 'g2k-test-reader', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    // Created up front (3 partitions, as a user would), so the reader can subscribe before anything is produced.
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }).catch(() => false);
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId: `g2k-test-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
    const reader = new TopicReader(kafka, consumer, topic);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {}))
          headers[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
        const record: ReadRecord = {
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers,
        };
        reader.records.push(record);
        const invalid = options.validate === false ? undefined : recordSchemaError(record);
        if (invalid) reader.schemaErrors.push(`${partition}/${message.offset} ${record.key ?? '(no key)'}: ${invalid}`);
        reader.next.set(partition, BigInt(message.offset) + 1n);
        return Promise.resolve();
      },
    });
    return reader;
  }

  /** Waits until `count` records arrived; fails with what did arrive if they do not within the timeout. */
  async waitFor(count: number, timeoutMs = READ_TIMEOUT_MS): Promise<ReadRecord[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.records.length < count) {
      this.assertValid();
      if (Date.now() > deadline)
        throw new Error(
          `expected ${count} records, got ${this.records.length}: ${JSON.stringify(this.records.map((r) => r.key))}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
    this.assertValid();
    return this.records;
  }

  /** Waits for the first record that `match` accepts; fails with how many arrived if none does in time. */
  async waitForMatch(match: (r: ReadRecord) => boolean, timeoutMs = READ_TIMEOUT_MS): Promise<ReadRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.assertValid();
      const found = this.records.find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no matching record on ${this.topic} among the ${this.records.length} read`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Waits until the reader has read every partition up to its end (the high watermark now): what a
   * reconciliation must wait for before it calls anything missing. Fails with its progress if it cannot.
   */
  async readToEnd(timeoutMs = 120_000): Promise<ReadRecord[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Array<{ partition: number; high: string }>;
    try {
      ends = await admin.fetchTopicOffsets(this.topic);
    } finally {
      await admin.disconnect();
    }
    const behind = () => ends.filter(({ partition, high }) => (this.next.get(partition) ?? 0n) < BigInt(high));
    const deadline = Date.now() + timeoutMs;
    while (behind().length) {
      if (Date.now() > deadline)
        throw new Error(
          `did not read ${this.topic} to its end within ${timeoutMs} ms: ${JSON.stringify(
            behind().map(({ partition, high }) => ({
              partition,
              end: high,
              read: String(this.next.get(partition) ?? 0n),
            })),
          )}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
    this.assertValid();
    return this.records;
  }

  /** Throws when a record read so far does not match its schema. */
  assertValid(): void {
    if (this.schemaErrors.length)
      throw new Error(
        `${this.schemaErrors.length} record(s) on ${this.topic} do not match their JSON Schema (packages/core/schemas; ` +
          `a field added to a record belongs in packages/core/src/schemas/record-schemas.ts, then pnpm docs:schemas): ` +
          this.schemaErrors.slice(0, 5).join(' | '),
      );
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    this.assertValid();
  }
}

/** A record's JSON value as an object; a tombstone's (and a missing record's) is empty. */
export const recordValue = (r: ReadRecord | undefined): Record<string, unknown> =>
  (JSON.parse(r?.value ?? 'null') as Record<string, unknown> | null) ?? {};
