import { randomUUID } from 'node:crypto';
import { fenceScope } from '../fence/fence-types.ts';
import type { Kafka } from 'kafkajs';
import type { EventFetcher } from '../graph/event-fetcher.ts';
import type { EventProducer } from '../kafka/event-producer.ts';
import type { Logger } from '../logger.ts';
import { isKindName } from '../kinds/index.ts';
import { repairRecords, repairTarget, type DeadLetterValue } from '../record.ts';
import type { RepairEntry } from '../state/subscription-store.ts';

export interface DeadLetter {
  partition: number;
  offset: string;
  value: DeadLetterValue;
}

export interface ReplayReport {
  replayed: number;
  /** Refused again (still too large for the broker, say): written to the dead-letter topic once more. */
  deadLetteredAgain: number;
  /** The first letter that could not be stored for a passing reason; the replay stopped there. */
  stoppedAt: string | undefined;
}

/** The consumer group that remembers how far replays went, so a second replay does not repeat the first. */
export const REPLAY_GROUP = 'graph2kafka-deadletter-replay';

/**
 * The dead-letter topic, for operators: list what is in it, and replay it once the cause is fixed (a raised
 * broker limit, a topic that exists now). A replay reads each change's item from Graph again and produces it
 * under the current limits as a `source: "repair"` record; a letter is committed only once its record (or its
 * new dead letter) is acknowledged.
 */
export class DeadLetters {
  private readonly kafka: Kafka;
  private readonly topic: string;
  private readonly fetcher: EventFetcher;
  private readonly events: EventProducer;
  private readonly logger: Logger;

  constructor(deps: { kafka: Kafka; topic: string; fetcher: EventFetcher; events: EventProducer; logger: Logger }) {
    this.kafka = deps.kafka;
    this.topic = deps.topic;
    this.fetcher = deps.fetcher;
    this.events = deps.events;
    this.logger = deps.logger;
  }

  /** Up to `max` letters from the start of the topic (a replay does not remove them). */
  async list(max: number): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    await this.read(`graph2kafka-deadletter-list-${randomUUID()}`, max, false, (letter) => {
      letters.push(letter);
      return Promise.resolve(true);
    });
    return letters;
  }

  /** How many letters the topic holds, and how many of them the replay group has not passed yet. */
  async counts(): Promise<{ total: number; notReplayed: number }> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      // No dead letter was ever written: the topic does not exist yet, and that is the healthy case.
      if (!topics.includes(this.topic)) return { total: 0, notReplayed: 0 };
      const ends = await admin.fetchTopicOffsets(this.topic);
      const committed = await admin.fetchOffsets({ groupId: REPLAY_GROUP, topics: [this.topic] });
      const at = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
      let total = 0n;
      let notReplayed = 0n;
      for (const e of ends) {
        const low = BigInt(e.low);
        const high = BigInt(e.high);
        const c = at.get(e.partition);
        total += high - low;
        notReplayed += high - (c !== undefined && c >= low ? c : low);
      }
      return { total: Number(total), notReplayed: Number(notReplayed) };
    } finally {
      await admin.disconnect();
    }
  }

  /** Replays up to `max` letters not replayed before. */
  async replay(max: number): Promise<ReplayReport> {
    const report: ReplayReport = { replayed: 0, deadLetteredAgain: 0, stoppedAt: undefined };
    await this.read(REPLAY_GROUP, max, true, async ({ partition, offset, value }) => {
      // Letters written before kinds existed are events and name the item `eventId`.
      const entry: RepairEntry = {
        tenantId: value.tenantId,
        kind: isKindName(value.kind) ? value.kind : 'events',
        userId: value.userId,
        itemId: value.itemId ?? value.eventId,
        ...(value.folderId ? { folderId: value.folderId } : {}),
        subscriptionId: value.subscriptionId,
        changeType: value.changeType as 'created' | 'updated' | 'deleted',
        resource: typeof value.notification?.resource === 'string' ? value.notification.resource : value.key,
        reason: value.reason,
        firstSeenAt: value.receivedAt,
        attempts: 0,
      };
      const { kind, target, itemId } = repairTarget(entry);
      const scope = fenceScope(entry.tenantId, kind.name, entry.userId);
      const token = (await this.events.observe([scope])).get(scope)!;
      const outcome = await this.fetcher.fetchItem(
        value.tenantId,
        kind,
        target,
        itemId,
        kind.defaultSelect,
        Date.now() + 10_000,
      );
      const [result] = await this.events.produce(
        [{ records: repairRecords(entry, outcome, Date.now()), notification: value.notification, token }],
        Date.now() + 10_000,
      );
      if (outcome.kind === 'failed' || result!.status === 'retry_later') {
        report.stoppedAt = `${partition}:${offset} (${outcome.kind === 'failed' ? outcome.reason : (result as { reason: string }).reason})`;
        return false;
      }
      if (result!.status === 'dead_lettered') report.deadLetteredAgain++;
      else report.replayed++;
      return true;
    });
    if (report.replayed || report.deadLetteredAgain) this.logger.info('dead letters replayed', { ...report });
    return report;
  }

  /**
   * Reads the topic from the group's position (the start, for a new group) to its end as it is now, handing
   * each letter to `handle`; a letter is committed when `handle` says true, and reading stops at false or `max`.
   */
  private async read(
    groupId: string,
    max: number,
    commit: boolean,
    handle: (letter: DeadLetter) => Promise<boolean>,
  ): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Array<{ partition: number; high: string; low: string }>;
    try {
      ends = await admin.fetchTopicOffsets(this.topic).catch(() => []);
      const committed = await admin.fetchOffsets({ groupId, topics: [this.topic] }).catch(() => []);
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
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const finish = () => resolve();
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              if (stop || !message.value) return;
              const end = remaining.get(partition);
              if (end === undefined || BigInt(message.offset) >= end) return;
              let value: DeadLetterValue | undefined;
              try {
                value = JSON.parse(message.value.toString()) as DeadLetterValue;
              } catch {
                this.logger.warn('a dead-letter record is not JSON; skipped', { partition, offset: message.offset });
              }
              const ok = value ? await handle({ partition, offset: message.offset, value }) : true;
              if (!ok) {
                stop = true;
                return finish();
              }
              if (commit)
                await consumer.commitOffsets([
                  { topic: this.topic, partition, offset: String(BigInt(message.offset) + 1n) },
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
