import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { LetterSigner } from '../format/letter-signature.ts';
import { ceSubject } from '../format/cloudevents.ts';
import { RecordEncoder } from '../format/record-encoder.ts';
import {
  deadLetterRecord,
  recordBytes,
  reduceRecords,
  type ChangeRecords,
  type DeadLetterValue,
  type KafkaRecord,
} from '../model/record.ts';
import type { ClaimVerdict, FenceClaim, KeyFence } from '../fence/fence-types.ts';
import { itemVersion } from '../fence/fence-types.ts';
import { asProduceError } from './kafka-errors.ts';
import { waitAtMost } from '../timeout.ts';
import type { RecordSink } from './producer.ts';
import type { TopicRouter } from './topic-router.ts';

/** The records of one change, and the input to keep in the dead-letter topic should Kafka refuse them. */
export interface EventUnit {
  records: ChangeRecords;
  /** The notification as received, without its clientState (null for resync items). */
  notification: Record<string, unknown> | null;
  /** The fence token taken (`observe`) before the read this record was built from. */
  token: number;
  /** The `$select` the item was read with: a re-read of the key reads the same. */
  select?: string | undefined;
}

/**
 * `produced`: in Kafka. `superseded`: not produced, because a newer observation of the key is claimed (the
 * change is covered by it). `reread` on either: the key is queued to be read again (it may have lost a race),
 * so whoever owns the unit's own follow-up entry must leave that entry be.
 */
export type UnitResult =
  | { status: 'produced'; reduced?: string[]; reread?: true }
  | { status: 'superseded'; reread?: true }
  | { status: 'dead_lettered'; reason: string }
  | { status: 'retry_later'; reason: string };

/** What produced records owe, done by their owners: repair entries, series due markers (see `onProduced`). */
export type FollowUp = (produced: ReadonlyArray<EventUnit>) => Promise<void>;

/** Queues keys to be read again (the repairer): they may hold a record older than Graph's item. */
export type RereadHook = (
  units: ReadonlyArray<{ records: ChangeRecords; select?: string | undefined }>,
  reason: string,
) => Promise<void>;

export interface EventProducerOptions {
  sink: RecordSink;
  /** Where each kind's records and dead letters go (per kind, or per kind and tenant). */
  router: TopicRouter;
  /** The value format and the CloudEvents and trace headers (plain JSON without them when absent). */
  encoder?: RecordEncoder;
  maxRecordBytes: number;
  logger: Logger;
  metrics?: Metrics;
  now?: () => number;
  /** The per-key fence shared by every instance (the state store's). */
  fence: KeyFence;
  /** Signs dead letters (G2K_DEAD_LETTER_KEY), so a replay can tell ours from letters someone else wrote. */
  letterSigner?: LetterSigner;
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
  private readonly encoder: RecordEncoder;
  private reread: RereadHook | undefined;
  private readonly followUps: FollowUp[] = [];

  constructor(options: EventProducerOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.encoder = options.encoder ?? RecordEncoder.plain();
  }

  /** Registers what produced records owe (called with every call's produced units, after Kafka acknowledged). */
  onProduced(hook: FollowUp): void {
    this.followUps.push(hook);
  }

  /** Who reads a key again when its record may have lost a race (the repairer registers itself). */
  onReread(hook: RereadHook): void {
    this.reread = hook;
  }

  /**
   * Tokens for reads about to be made, one per fence scope (`fenceScope`): every path that turns a read of
   * Graph into records takes one before it reads.
   */
  observe(scopes: readonly string[]): Promise<Map<string, number>> {
    return this.o.fence.begin([...new Set(scopes)]);
  }

  /**
   * The one emit path: claims each unit's key with its token, sends the winners at once (the sink groups them
   * into shared requests), then checks that no newer claim came in while they were on the way — a key that
   * lost such a race is read again. Resolves with one result per unit.
   */
  async produce(units: EventUnit[], deadline: number, followUpsBy = Infinity): Promise<UnitResult[]> {
    const results = await this.fenced(units, deadline);
    await this.followUp(
      units.filter((_, i) => results[i]!.status === 'produced'),
      followUpsBy,
    );
    return results;
  }

  /**
   * Runs what every produced record owes (a repair entry for an unenriched one, a series due marker for a master
   * …), registered by their owners. Never throws; a caller on Graph's clock waits until `by` at most, and the
   * rest goes on in the background.
   */
  private async followUp(produced: EventUnit[], by: number): Promise<void> {
    if (!produced.length || !this.followUps.length) return;
    const all = Promise.all(
      this.followUps.map((hook) =>
        hook(produced).catch((err: unknown) =>
          this.o.logger.error('a follow-up of produced records failed', { error: errorMessage(err) }),
        ),
      ),
    ).then(() => undefined);
    if (Number.isFinite(by)) await waitAtMost(all, by - this.now());
    else await all;
  }

  private async fenced(units: EventUnit[], deadline: number): Promise<UnitResult[]> {
    if (!units.length) return [];
    const lead = leaders(units);
    const leads = [...new Set(lead)];
    let claimed: ClaimVerdict[];
    try {
      claimed = await this.o.fence.claim(leads.map((i) => claimOf(units[i]!)));
    } catch (err) {
      return this.unfenced(units, err);
    }
    const byLead = new Map(leads.map((i, j) => [i, claimed[j]!]));
    // Another unit of the leader's key shares its verdict, unless it says the same (a repeated notification).
    const verdicts = units.map((u, i): ClaimVerdict => {
      const v = byLead.get(lead[i]!)!;
      return lead[i] === i || !sameContent(u, units[lead[i]!]!) ? v : 'stale';
    });
    this.o.metrics?.fenced('superseded', verdicts.filter((v) => v === 'stale').length);
    // A carried item that lost, or a read that lost to a newer claim whose record is not in Kafka yet (it may
    // never be: a duplicate delivery answered 503 that nobody retries): the key is read again.
    const rereads = leads.filter((i) => byLead.get(i) === 'reread').map((i) => units[i]!);
    const [carriedOk, inFlightOk] = await Promise.all([
      this.queueRereads(
        rereads.filter((u) => u.records.facts.fromNotification),
        'carried_item_lost',
      ),
      this.queueRereads(
        rereads.filter((u) => !u.records.facts.fromNotification),
        'newer_in_flight',
      ),
    ]);
    const queued = carriedOk && inFlightOk;
    const results: UnitResult[] = units.map((_, i) => {
      const v = verdicts[i]!;
      if (v === 'stale') return { status: 'superseded' };
      return queued
        ? { status: 'superseded', reread: true }
        : { status: 'retry_later', reason: 'could not queue a re-read' };
    });
    // The leader of a key goes last, so what it claimed is what the key holds once all landed.
    const send = async (indices: number[]): Promise<void> => {
      const sent = await Promise.all(indices.map((i) => this.one(units[i]!, deadline)));
      for (const [j, i] of indices.entries()) results[i] = sent[j]!;
    };
    const won = units.flatMap((_, i) => (verdicts[i] === 'won' ? [i] : []));
    const followers = won.filter((i) => lead[i] !== i);
    if (followers.length) await send(followers);
    await send(won.filter((i) => lead[i] === i));
    const sent = leads.filter((i) => verdicts[i] === 'won' && results[i]!.status === 'produced');
    if (!sent.length) return results;
    let overtaken: boolean[];
    try {
      overtaken = await this.o.fence.overtaken(
        sent.map((i) => ({ key: keyOf(units[i]!), token: units[i]!.token, gone: units[i]!.records.tombstone })),
      );
    } catch (err) {
      // In Kafka, but whether a newer record landed first is unknown: a retry reads the item again.
      return this.unfenced(units, err, results, sent);
    }
    const late = sent.filter((_, j) => overtaken[j]);
    if (!late.length) return results;
    const ok = await this.queueRereads(
      late.map((i) => units[i]!),
      'overtaken',
    );
    for (const i of late)
      results[i] = ok
        ? { ...(results[i] as { status: 'produced' }), reread: true }
        : { status: 'retry_later', reason: 'could not queue a re-read' };
    return results;
  }

  private async queueRereads(units: EventUnit[], reason: string): Promise<boolean> {
    if (!units.length) return true;
    if (!this.reread) return false;
    try {
      await this.reread(units, reason);
      this.o.metrics?.fenced(reason, units.length);
      return true;
    } catch (err) {
      this.o.logger.error('queueing keys to be read again failed', { reason, error: errorMessage(err) });
      return false;
    }
  }

  /** The fence could not be asked: nothing is known about the keys' order, so the units are retried. */
  private unfenced(units: EventUnit[], err: unknown, results?: UnitResult[], only?: number[]): UnitResult[] {
    const message = `state store (key fence) unavailable: ${errorMessage(err)}`;
    this.o.logger.error('the key fence could not be asked; the changes are retried', { error: errorMessage(err) });
    const retry = new Set(only ?? units.map((_, i) => i));
    return units.map((_, i) => (retry.has(i) ? { status: 'retry_later', reason: message } : results![i]!));
  }

  private async one(unit: EventUnit, deadline: number): Promise<UnitResult> {
    const max = this.o.maxRecordBytes;
    let records = unit.records;
    const topic = this.o.router.topic(records.kind.name, records.facts.tenantId);
    let out: KafkaRecord[];
    try {
      await this.encoder.prepare(topic, records);
      out = this.encoder.change(records, topic);
    } catch (err) {
      // A format that could not get ready (a registry not answering) is a retry, not a poison record.
      return { status: 'retry_later', reason: `the value format could not write the record: ${errorMessage(err)}` };
    }
    // Measured as written: the format's envelope and the headers count against the broker's limit too.
    const fits = (c: ChangeRecords): boolean => this.encoder.change(c, topic).every((r) => recordBytes(r) <= max);
    if (out.some((r) => recordBytes(r) > max)) {
      const reduced = reduceRecords(records, fits);
      if (!reduced)
        return this.deadLetter(unit, 'record_too_large', `a record is over G2K_MAX_RECORD_BYTES (${max})`, deadline);
      records = reduced;
      out = this.encoder.change(records, topic);
    }
    try {
      await this.o.sink.send(topic, out, this.remaining(deadline));
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
    const c = unit.records;
    const topic = this.o.router.topic(c.kind.name, c.facts.tenantId);
    const deadLetterTopic = this.o.router.topic('deadLetter', c.facts.tenantId);
    const signer = this.o.letterSigner;
    const letter = deadLetterRecord(
      c,
      topic,
      reason,
      error,
      unit.notification,
      this.now(),
      signer ? (value) => signer.sign(value) : undefined,
    );
    const record = this.encoder.deadLetter(
      letter,
      JSON.parse(letter.value!) as DeadLetterValue,
      ceSubject(c.kind.name, c.itemId),
    );
    try {
      // Even when the refused send used up the time: a dead letter is small, and the alternative is a 503.
      await this.o.sink.send(deadLetterTopic, [record], Math.max(500, this.remaining(deadline)));
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
      deadLetterTopic,
    });
    return { status: 'dead_lettered', reason };
  }

  private remaining(deadline: number): number {
    return Math.max(1, deadline - this.now());
  }
}

const keyOf = (u: EventUnit): string => u.records.records[0]!.key;

/**
 * For each unit, the unit that claims its key in this call: the last one of the key, preferring an item found
 * where its subscription looks (a message moved between two watched folders: the one in its new folder) over a
 * folder's note that it left.
 */
function leaders(units: EventUnit[]): number[] {
  const byKey = new Map<string, number[]>();
  for (const [i, u] of units.entries()) byKey.set(keyOf(u), [...(byKey.get(keyOf(u)) ?? []), i]);
  const lead: number[] = [];
  for (const indices of byKey.values()) {
    const inside = indices.filter((i) => !units[i]!.records.facts.outsideFolder);
    const chosen = (inside.length ? inside : indices).at(-1)!;
    for (const i of indices) lead[i] = chosen;
  }
  return lead;
}

/** Two units that would write the same thing (Graph's several notifications of one calendar edit). */
const sameContent = (a: EventUnit, b: EventUnit): boolean =>
  a.records.tombstone === b.records.tombstone &&
  a.records.facts.changeType === b.records.facts.changeType &&
  a.records.facts.enriched === b.records.facts.enriched &&
  JSON.stringify(a.records.item) === JSON.stringify(b.records.item);

const claimOf = (u: EventUnit): FenceClaim => ({
  key: keyOf(u),
  token: u.token,
  gone: u.records.tombstone,
  version: itemVersion(u.records.item),
  carried: u.records.facts.fromNotification === true,
});
