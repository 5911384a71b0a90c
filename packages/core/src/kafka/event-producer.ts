import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { KindName } from '../kinds/index.ts';
import { deadLetterRecord, recordBytes, reduceRecords, type ChangeRecords } from '../record.ts';
import { asProduceError } from './kafka-errors.ts';
import type { RecordSink } from './producer.ts';

/** The records of one change, and the input to keep in the dead-letter topic should Kafka refuse them. */
export interface EventUnit {
  records: ChangeRecords;
  /** The notification as received, without its clientState (null for resync items). */
  notification: Record<string, unknown> | null;
}

export type UnitResult =
  | { status: 'produced'; reduced?: string[] }
  | { status: 'dead_lettered'; reason: string }
  | { status: 'retry_later'; reason: string };

export interface EventProducerOptions {
  sink: RecordSink;
  /** Where each kind's records go. */
  topics: Readonly<Record<KindName, string>>;
  deadLetterTopic: string;
  maxRecordBytes: number;
  logger: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/**
 * Produces changes so that each gets its own verdict: a change whose record is over the size limit goes out
 * reduced (large properties left out, flagged); one Kafka refuses for what it is goes to the dead-letter topic
 * with the raw notification; only a failure a retry can fix (Kafka unreachable, too slow) is `retry_later`.
 * A poison record therefore never holds back the records sent beside it, and never makes Graph retry forever.
 */
export class EventProducer {
  private readonly o: EventProducerOptions;
  private readonly now: () => number;

  constructor(options: EventProducerOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
  }

  /** Sends every unit at once (the sink groups them into shared requests); resolves with one result each. */
  produce(units: EventUnit[], deadline: number): Promise<UnitResult[]> {
    return Promise.all(units.map((u) => this.one(u, deadline)));
  }

  private async one(unit: EventUnit, deadline: number): Promise<UnitResult> {
    const max = this.o.maxRecordBytes;
    let records = unit.records;
    if (records.records.some((r) => recordBytes(r) > max)) {
      const reduced = reduceRecords(records, max);
      if (!reduced)
        return this.deadLetter(unit, 'record_too_large', `a record is over G2K_MAX_RECORD_BYTES (${max})`, deadline);
      records = reduced;
    }
    try {
      await this.o.sink.send(this.o.topics[records.kind.name], records.records, this.remaining(deadline));
    } catch (err) {
      const failure = asProduceError(err);
      if (!failure.permanent) return { status: 'retry_later', reason: failure.message };
      return this.deadLetter(unit, 'refused_by_kafka', failure.message, deadline);
    }
    return records.facts.reducedProperties
      ? { status: 'produced', reduced: records.facts.reducedProperties }
      : { status: 'produced' };
  }

  private async deadLetter(unit: EventUnit, reason: string, error: string, deadline: number): Promise<UnitResult> {
    const topic = this.o.topics[unit.records.kind.name];
    const record = deadLetterRecord(unit.records, topic, reason, error, unit.notification, this.now());
    try {
      // Even when the refused send used up the time: a dead letter is small, and the alternative is a 503.
      await this.o.sink.send(this.o.deadLetterTopic, [record], Math.max(500, this.remaining(deadline)));
    } catch (err) {
      // Not in Kafka at all: Graph must redeliver (or the resync retry) rather than the change being lost.
      const message = errorMessage(err);
      this.o.logger.error('writing to the dead-letter topic failed', { reason, error: message });
      return { status: 'retry_later', reason: `dead-letter write failed: ${message}` };
    }
    this.o.metrics?.deadLettered(reason);
    this.o.logger.warn('change dead-lettered', {
      reason,
      error,
      key: record.key,
      deadLetterTopic: this.o.deadLetterTopic,
    });
    return { status: 'dead_lettered', reason };
  }

  private remaining(deadline: number): number {
    return Math.max(1, deadline - this.now());
  }
}
