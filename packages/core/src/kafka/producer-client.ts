import type { KafkaRecord } from '../model/record.ts';

/**
 * One idempotent, acks=all producer connection of a Kafka library: all a RecordSink needs of it. The sink
 * owns grouping, poison isolation and reconnecting; a client only connects, sends and disconnects.
 */
export interface ProducerClient {
  /** Connects and registers the idempotent producer (a fresh producer id: a fresh sequence). */
  connect(): Promise<void>;
  /** One produce request per broker for all of them; resolves when every record is acknowledged by all replicas. */
  send(byTopic: Map<string, KafkaRecord[]>): Promise<void>;
  disconnect(): Promise<void>;
}

/** Timeouts that keep a send inside Graph's 3 s answer, for every client alike. */
export const PRODUCER_TIMING = {
  connectMs: 2_000,
  requestMs: 2_500,
  retries: 2,
  retryBaseMs: 100,
  retryMaxMs: 1_000,
} as const;
