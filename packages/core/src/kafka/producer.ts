import type { SASLOptions } from 'kafkajs';
import type { KafkaSettings } from '../config/config.ts';
import { ProduceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { recordBytes, type KafkaRecord } from '../model/record.ts';
import { asProduceError } from './kafka-errors.ts';
import { kafkajsProducer } from './kafkajs-client.ts';
import { platformaticProducer } from './platformatic-client.ts';
import type { ProducerClient } from './producer-client.ts';

export interface RecordSink {
  /**
   * Resolves once Kafka acknowledged every record (acks=all); rejects with a ProduceError otherwise, whose
   * `permanent` says that these records themselves were refused (a retry cannot help).
   */
  send(topic: string, records: KafkaRecord[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const CIRCUIT_OPEN_MS = 1_000;

interface Pending {
  topic: string;
  records: KafkaRecord[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * One long-lived idempotent producer, reused across invocations. Sends from concurrent invocations are grouped:
 * while one request is with the broker, the next ones queue and then go out together as one `sendBatch` (like
 * a group commit, up to `maxRequestBytes` per request), so throughput does not stop at one broker round trip
 * per notification POST, and nothing waits when there is no load. When the broker refuses a group for the
 * records themselves (too large, invalid), each send of the group is tried alone, so one poison record fails
 * only its own send. After any other failure the producer is thrown away and the next send connects a fresh
 * one, so a broker restart heals without restarting the function.
 */
export class KafkaRecordSink implements RecordSink {
  private readonly newProducer: () => ProducerClient;
  private readonly logger: Logger;
  private producer: ProducerClient | undefined;
  private connecting: Promise<ProducerClient> | undefined;
  /** After close() nothing connects again: a send still on its way (a background repair) is refused, not sent. */
  private closed = false;
  private queue: Pending[] = [];
  private sending = false;
  /** The group with the broker now (connect included): close() lets it finish before it disconnects. */
  private inFlight: Promise<void> | undefined;
  /** After a failure, sends fail at once for a moment instead of each waiting out the broker's timeouts. */
  private openUntil = 0;

  private readonly maxRequestBytes: number;
  private readonly metrics: Metrics | undefined;

  /**
   * `sasl` comes from kafkaSasl (kafka/auth.ts), which knows how to get OAUTHBEARER tokens; `settings.client`
   * picks the library. Short timeouts and few retries either way: the answer to Graph leaves within its 3 s.
   */
  constructor(settings: KafkaSettings, logger: Logger, sasl?: SASLOptions, metrics?: Metrics) {
    this.logger = logger;
    this.metrics = metrics;
    this.maxRequestBytes = settings.maxRecordBytes;
    this.newProducer =
      settings.client === 'platformatic' ? platformaticProducer(settings, sasl) : kafkajsProducer(settings, sasl);
  }

  async send(topic: string, records: KafkaRecord[], timeoutMs: number): Promise<void> {
    if (!records.length) return;
    // Answering Graph fast (503) while Kafka is down keeps the endpoint out of Graph's "slow" state.
    if (Date.now() < this.openUntil)
      throw new ProduceError('Kafka is unavailable (a send failed less than a second ago)');
    let timer: NodeJS.Timeout | undefined;
    const bytes = records.reduce((n, r) => n + recordBytes(r), 0);
    const acked = new Promise<void>((resolve, reject) => this.queue.push({ topic, records, bytes, resolve, reject }));
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ProduceError(`Kafka did not acknowledge within ${timeoutMs} ms`)),
        Math.max(1, timeoutMs),
      );
    });
    this.pump();
    try {
      await Promise.race([acked, deadline]);
    } catch (err) {
      throw asProduceError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // What has not gone out yet never will.
    for (const p of this.queue.splice(0))
      p.reject(new ProduceError('the Kafka producer is closed; nothing more is sent'));
    // A request still with the broker keeps using its producer: disconnected under it, kafkajs connects again
    // (to refresh the metadata of a topic new to it) and that socket outlives the sink, keeping a serverless
    // instance's connection (and jest) open. So it finishes first, bounded by the producer's own timeouts.
    await this.inFlight;
    const producer = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  private pump(): void {
    if (this.sending || !this.queue.length) return;
    let bytes = 0;
    let take = 0;
    while (take < this.queue.length && (take === 0 || bytes + this.queue[take]!.bytes <= this.maxRequestBytes))
      bytes += this.queue[take++]!.bytes;
    const batch = this.queue.splice(0, take);
    this.sending = true;
    // sendGroup settles every send of the group itself and never rejects.
    const group = this.sendGroup(batch).finally(() => {
      this.sending = false;
      this.inFlight = undefined;
      this.pump();
    });
    this.inFlight = group;
    void group;
  }

  private async sendGroup(batch: Pending[]): Promise<void> {
    try {
      await this.sendBatch(batch);
      batch.forEach((p) => p.resolve());
      return;
    } catch (err) {
      const failure = asProduceError(err);
      if (!failure.permanent) {
        this.logger.error('Kafka produce failed', {
          records: batch.reduce((n, p) => n + p.records.length, 0),
          error: failure.message,
        });
        this.discard();
        this.openUntil = Date.now() + CIRCUIT_OPEN_MS;
        batch.forEach((p) => p.reject(failure));
        return;
      }
      // The idempotent producer has counted the refused records into its sequence numbers; the broker would
      // answer the next send with OUT_OF_ORDER_SEQUENCE_NUMBER. A fresh producer starts a fresh sequence.
      this.discard();
      if (batch.length === 1) {
        batch[0]!.reject(failure);
        return;
      }
    }
    // The broker refused something in the group for what it is: find out which send by sending each alone.
    for (const [i, p] of batch.entries()) {
      try {
        await this.sendBatch([p]);
        p.resolve();
      } catch (err) {
        const failure = asProduceError(err);
        p.reject(failure);
        this.discard();
        if (!failure.permanent) {
          this.openUntil = Date.now() + CIRCUIT_OPEN_MS;
          batch.slice(i + 1).forEach((rest) => rest.reject(failure));
          return;
        }
      }
    }
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    const producer = await this.connected();
    const byTopic = new Map<string, KafkaRecord[]>();
    for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), ...p.records]);
    const started = performance.now();
    try {
      await producer.send(byTopic);
    } catch (err) {
      this.metrics?.kafkaSend(performance.now() - started, false, new Map());
      throw err;
    }
    this.metrics?.kafkaSend(
      performance.now() - started,
      true,
      new Map([...byTopic].map(([topic, records]) => [topic, records.length])),
    );
  }

  private connected(): Promise<ProducerClient> {
    // Closed first: a group that close() waits for sends nothing more (its one-by-one retries neither).
    if (this.closed) return Promise.reject(new ProduceError('the Kafka producer is closed; nothing more is sent'));
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const producer = this.newProducer();
      try {
        await producer.connect();
      } catch (err) {
        this.connecting = undefined;
        await producer.disconnect().catch(() => undefined);
        throw err;
      }
      if (this.closed) {
        // Closed while this connect was under way: it must not outlive the sink.
        await producer.disconnect().catch(() => undefined);
        throw new ProduceError('the Kafka producer is closed; nothing more is sent');
      }
      this.producer = producer;
      this.connecting = undefined;
      return producer;
    })();
    return this.connecting;
  }

  private discard(): void {
    const producer = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    void producer?.disconnect().catch(() => undefined);
  }
}
