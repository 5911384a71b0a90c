import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, Partitioners, type Producer, type SASLOptions } from 'kafkajs';
import type { KafkaSettings } from '../config/config.ts';
import { ProduceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { KafkaRecord } from '../record.ts';

export interface RecordSink {
  /** Resolves once Kafka acknowledged every record (acks=all); rejects with ProduceError otherwise. */
  send(topic: string, records: KafkaRecord[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

function tls(settings: KafkaSettings): ConnectionOptions | boolean | undefined {
  if (!settings.ssl) return undefined;
  if (!settings.sslCaPem && !settings.sslClientCert) return true;
  return {
    ...(settings.sslCaPem ? { ca: [settings.sslCaPem] } : {}),
    ...(settings.sslClientCert ?? {}),
  };
}

const CIRCUIT_OPEN_MS = 1_000;

interface Pending {
  topic: string;
  records: KafkaRecord[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * One long-lived idempotent producer, reused across invocations. Sends from concurrent invocations are grouped:
 * while one request is with the broker, the next ones queue and then go out together as one `sendBatch` (like
 * a group commit), so throughput does not stop at one broker round trip per notification POST, and nothing
 * waits when there is no load. After a failure the producer is thrown away and the next send connects a fresh
 * one, so a broker restart heals without restarting the function.
 */
export class KafkaRecordSink implements RecordSink {
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private queue: Pending[] = [];
  private sending = false;
  /** After a failure, sends fail at once for a moment instead of each waiting out the broker's timeouts. */
  private openUntil = 0;

  /** `sasl` comes from kafkaSasl (kafka/auth.ts), which knows how to get OAUTHBEARER tokens. */
  constructor(settings: KafkaSettings, logger: Logger, sasl?: SASLOptions) {
    this.logger = logger;
    const ssl = tls(settings);
    this.kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      ...(ssl ? { ssl } : {}),
      ...(sasl ? { sasl } : {}),
      connectionTimeout: 2_000,
      requestTimeout: 2_500,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
      logLevel: logLevel.NOTHING,
    });
  }

  async send(topic: string, records: KafkaRecord[], timeoutMs: number): Promise<void> {
    if (!records.length) return;
    // Answering Graph fast (503) while Kafka is down keeps the endpoint out of Graph's "slow" state.
    if (Date.now() < this.openUntil)
      throw new ProduceError('Kafka is unavailable (a send failed less than a second ago)');
    let timer: NodeJS.Timeout | undefined;
    const acked = new Promise<void>((resolve, reject) => this.queue.push({ topic, records, resolve, reject }));
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
      throw err instanceof ProduceError
        ? err
        : new ProduceError(`Kafka produce failed: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  private pump(): void {
    if (this.sending || !this.queue.length) return;
    const batch = this.queue;
    this.queue = [];
    this.sending = true;
    void this.sendBatch(batch)
      .then(
        () => batch.forEach((p) => p.resolve()),
        (err: unknown) => {
          this.logger.error('Kafka produce failed', {
            records: batch.reduce((n, p) => n + p.records.length, 0),
            error: (err as Error).message,
          });
          this.discard();
          this.openUntil = Date.now() + CIRCUIT_OPEN_MS;
          batch.forEach((p) => p.reject(err));
        },
      )
      .finally(() => {
        this.sending = false;
        this.pump();
      });
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    const producer = await this.connected();
    const byTopic = new Map<string, KafkaRecord[]>();
    for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), ...p.records]);
    await producer.sendBatch({
      acks: -1,
      timeout: 2_500,
      topicMessages: [...byTopic].map(([topic, records]) => ({
        topic,
        messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
      })),
    });
  }

  private connected(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      try {
        await producer.connect();
      } catch (err) {
        this.connecting = undefined;
        await producer.disconnect().catch(() => undefined);
        throw err;
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
