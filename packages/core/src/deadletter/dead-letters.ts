import { randomUUID } from 'node:crypto';
import { fenceScope } from '../fence/fence-types.ts';
import type { IHeaders, Kafka } from 'kafkajs';
import type { EventFetcher } from '../graph/event-fetcher.ts';
import type { EventProducer } from '../kafka/event-producer.ts';
import type { Logger } from '../logger.ts';
import type { DeadLetterValue } from '../model/record.ts';
import { repairRecords, repairTarget } from '../repair/repair-records.ts';
import type { LetterCheck, LetterVerdict } from './letter-check.ts';
import type { LetterSigner } from '../format/letter-signature.ts';
import { SIGNATURE_HEADER } from '../model/record.ts';
import type { DeadLetter, RefusalReason, ReplayReport } from './replay-types.ts';

export type { DeadLetter, LetterRefusal, RefusalReason, ReplayReport } from './replay-types.ts';

/** A record of the dead-letter topic as read: its value's bytes, and parsed (undefined when empty or not JSON). */
interface RawLetter {
  topic: string;
  partition: number;
  offset: string;
  raw: Buffer | null;
  value: unknown;
  headers: Record<string, string>;
}

const BAD_SIGNATURE =
  "carries a signature none of graph2kafka's keys made (G2K_DEAD_LETTER_KEY, G2K_DEAD_LETTER_PREVIOUS_KEY): it was not written by graph2kafka, or the key that signed it was replaced without being kept as G2K_DEAD_LETTER_PREVIOUS_KEY; nothing was read — if nobody of yours wrote it, check who may write to the dead-letter topic";
const UNSIGNED =
  'is unsigned, and this replay takes signed letters only (--signed-only): it was written by a version before G2K_DEAD_LETTER_KEY was set, or by someone without the key; nothing was read — replay without --signed-only to re-verify it against the subscriptions instead';

const refusal = (reason: RefusalReason, message: string): LetterVerdict => ({ ok: false, reason, message });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Kafka headers as text (kafkajs hands them as buffers, or lists of them when a name repeats: the last wins). */
function textHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(headers ?? {})) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}

/** The consumer group that remembers how far replays went, so a second replay does not repeat the first. */
export const REPLAY_GROUP = 'graph2kafka-deadletter-replay';

/**
 * The dead-letter topic, for operators: list what is in it, and replay it once the cause is fixed (a raised
 * broker limit, a topic that exists now). A replay reads each change's item from Graph again and produces it
 * under the current limits as a `source: "repair"` record; a letter is committed only once its record (or its
 * new dead letter) is acknowledged. A letter is replayed only for a target graph2kafka subscribes to now
 * (`LetterCheck`); any other is reported and passed over, without a read or a record.
 */
export class DeadLetters {
  private readonly kafka: Kafka;
  /** The dead-letter topic, or with G2K_TOPIC_TEMPLATE every accepted tenant's. */
  readonly topics: readonly string[];
  private readonly fetcher: EventFetcher;
  private readonly events: EventProducer;
  private readonly check: () => LetterCheck;
  private readonly signer: LetterSigner | undefined;
  private readonly logger: Logger;

  constructor(deps: {
    kafka: Kafka;
    topics: readonly string[];
    fetcher: EventFetcher;
    events: EventProducer;
    /** A fresh check per replay: it lists the stored subscriptions once, as they are when the replay starts. */
    check: () => LetterCheck;
    /** Checks letters' signatures (G2K_DEAD_LETTER_KEY); absent, a signed letter stops the replay. */
    signer: LetterSigner | undefined;
    logger: Logger;
  }) {
    this.kafka = deps.kafka;
    this.topics = deps.topics;
    this.fetcher = deps.fetcher;
    this.events = deps.events;
    this.check = deps.check;
    this.signer = deps.signer;
    this.logger = deps.logger;
  }

  /** Up to `max` letters from the start of the topic (a replay does not remove them). */
  async list(max: number): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    for (const topic of this.topics) {
      if (letters.length >= max) break;
      await this.read(topic, `graph2kafka-deadletter-list-${randomUUID()}`, max - letters.length, false, (l) => {
        const { partition, offset, value } = l;
        if (isObject(value)) letters.push({ partition, offset, value: value as unknown as DeadLetterValue });
        else this.logger.warn('a dead-letter record is not a JSON object; not listed', { topic, partition, offset });
        return Promise.resolve(true);
      });
    }
    return letters;
  }

  /** How many letters the topic holds, and how many of them the replay group has not passed yet. */
  async counts(): Promise<{ total: number; notReplayed: number }> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      let total = 0n;
      let notReplayed = 0n;
      // No dead letter was ever written: the topic does not exist yet, and that is the healthy case.
      for (const topic of this.topics.filter((t) => existing.has(t))) {
        const ends = await admin.fetchTopicOffsets(topic);
        const committed = await admin.fetchOffsets({ groupId: REPLAY_GROUP, topics: [topic] });
        const at = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
        for (const e of ends) {
          const low = BigInt(e.low);
          const high = BigInt(e.high);
          const c = at.get(e.partition);
          total += high - low;
          notReplayed += high - (c !== undefined && c >= low ? c : low);
        }
      }
      return { total: Number(total), notReplayed: Number(notReplayed) };
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Replays up to `max` letters not replayed before. A letter signed by none of our keys is refused, and so is one
   * for a target not subscribed to; with `signedOnly`, unsigned letters (older versions', or anyone's) are too.
   */
  async replay(max: number, options: { signedOnly?: boolean } = {}): Promise<ReplayReport> {
    if (options.signedOnly && !this.signer)
      throw new Error('a replay of signed letters only needs G2K_DEAD_LETTER_KEY, the key the functions sign with');
    const report: ReplayReport = { replayed: 0, deadLetteredAgain: 0, refused: [], stoppedAt: undefined };
    const check = this.check();
    const handled = () => report.replayed + report.deadLetteredAgain + report.refused.length;
    for (const topic of this.topics) {
      if (report.stoppedAt || handled() >= max) break;
      await this.read(topic, REPLAY_GROUP, max - handled(), true, (letter) =>
        this.replayOne(letter, check, report, options),
      );
    }
    if (report.replayed || report.deadLetteredAgain || report.refused.length)
      this.logger.info('dead letters replayed', {
        replayed: report.replayed,
        deadLetteredAgain: report.deadLetteredAgain,
        refused: report.refused.length,
        ...(report.stoppedAt ? { stoppedAt: report.stoppedAt } : {}),
      });
    return report;
  }

  /** One letter of a replay: whether to go on (and commit it). */
  private async replayOne(
    { topic, partition, offset, raw, value, headers }: RawLetter,
    check: LetterCheck,
    report: ReplayReport,
    options: { signedOnly?: boolean },
  ): Promise<boolean> {
    // A letter's place: its partition and offset, and its topic when there are several (per-tenant topics).
    const at = this.topics.length > 1 ? `${topic}:${partition}:${offset}` : `${partition}:${offset}`;
    const header = headers[SIGNATURE_HEADER];
    if (header !== undefined && !this.signer) {
      // Not a refusal: the letter may well be ours, and passing it now would lose it.
      report.stoppedAt = `${at} (the letter is signed, but G2K_DEAD_LETTER_KEY is not set: replay with the functions' settings)`;
      return false;
    }
    const signature = this.signer?.check(raw, header) ?? 'unsigned';
    const verdict =
      signature === 'invalid'
        ? refusal('bad_signature', BAD_SIGNATURE)
        : signature === 'unsigned' && options.signedOnly
          ? refusal('unsigned', UNSIGNED)
          : await check.check(value);
    if (!verdict.ok) {
      // Passed over for good (committed): replaying it later would be refused the same way.
      report.refused.push({ at, reason: verdict.reason, message: verdict.message });
      this.logger.warn('dead letter refused: not replayed', { at, reason: verdict.reason });
      return true;
    }
    const { entry, notification } = verdict;
    const { kind, target, itemId } = repairTarget(entry);
    const scope = fenceScope(entry.tenantId, kind.name, entry.userId);
    const token = (await this.events.observe([scope])).get(scope)!;
    const outcome = await this.fetcher.fetchItem(
      entry.tenantId,
      kind,
      target,
      itemId,
      entry.select,
      Date.now() + 10_000,
    );
    const [result] = await this.events.produce(
      [{ records: repairRecords(entry, outcome, Date.now()), notification, token, select: entry.select }],
      Date.now() + 10_000,
    );
    if (outcome.kind === 'failed' || result!.status === 'retry_later') {
      report.stoppedAt = `${at} (${outcome.kind === 'failed' ? outcome.reason : (result as { reason: string }).reason})`;
      return false;
    }
    if (result!.status === 'dead_lettered') report.deadLetteredAgain++;
    else report.replayed++;
    return true;
  }

  /**
   * Reads the topic from the group's position (the start, for a new group) to its end as it is now, handing
   * each letter to `handle`; a letter is committed when `handle` says true, and reading stops at false or `max`.
   */
  private async read(
    topic: string,
    groupId: string,
    max: number,
    commit: boolean,
    handle: (letter: RawLetter) => Promise<boolean>,
  ): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Array<{ partition: number; high: string; low: string }>;
    try {
      ends = await admin.fetchTopicOffsets(topic).catch(() => []);
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] }).catch(() => []);
      const at = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
      // Where this group starts in each partition: its committed offset, or the partition's start.
      const start = (e: { partition: number; low: string }): bigint => {
        const c = at.get(e.partition);
        return c !== undefined && c >= 0n ? c : BigInt(e.low);
      };
      ends = ends.filter((e) => BigInt(e.high) > start(e));
    } finally {
      await admin.disconnect();
    }
    if (!ends.length || max <= 0) return;
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false });
    await consumer.connect();
    let seen = 0;
    let stop = false;
    const remaining = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
    try {
      await consumer.subscribe({ topic: topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const finish = () => resolve();
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              if (stop) return;
              const end = remaining.get(partition);
              if (end === undefined || BigInt(message.offset) >= end) return;
              // Anything in the topic is handed on, even what no version writes (an empty value, not JSON): it
              // must be counted and passed, or the read would wait for it forever at a partition's end.
              let value: unknown;
              try {
                value = message.value ? (JSON.parse(message.value.toString()) as unknown) : undefined;
              } catch {
                value = undefined;
              }
              const ok = await handle({
                topic,
                partition,
                offset: message.offset,
                raw: message.value,
                value,
                headers: textHeaders(message.headers),
              });
              if (!ok) {
                stop = true;
                return finish();
              }
              if (commit)
                await consumer.commitOffsets([
                  { topic: topic, partition, offset: String(BigInt(message.offset) + 1n) },
                ]);
              if (BigInt(message.offset) + 1n >= end) remaining.delete(partition);
              if (++seen >= max || !remaining.size) {
                stop = true;
                finish();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
  }
}
