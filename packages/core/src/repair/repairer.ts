import { Budget, BACKGROUND_STEP_MS } from '../model/budget.ts';
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors.ts';
import { waitAtMost } from '../timeout.ts';
import type { EventFetcher } from '../graph/event-fetcher.ts';
import type { FetchOutcome } from '../model/item-read.ts';
import type { EventProducer, EventUnit } from '../kafka/event-producer.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { VerifiedChange } from '../model/change.ts';
import type { ChangeRecords } from '../model/record.ts';
import { repairRecords, repairTarget } from './repair-records.ts';
import { fenceScope } from '../fence/fence-types.ts';
import type { BackgroundWork } from '../work/background-work.ts';
import { KINDS } from '../kinds/index.ts';
import { mailboxOf, QueueAdmission } from './queue-admission.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import { repairCollection, repairDeleteCondition } from './repair-collection.ts';
import type { RepairEntry } from './repair-types.ts';

export interface RepairReport {
  /** Enriched records produced for changes that had gone out without their event. */
  repaired: number;
  /** Events Graph no longer had: a `gone` record was produced instead. */
  gone: number;
  /** Entries still waiting (Graph still failing, or the run's time ran out). */
  left: number;
  /** Entries dropped after too many attempts (logged with their key). */
  abandoned: number;
}

export interface RepairerOptions {
  store: DocumentStore;
  fetcher: EventFetcher;
  events: EventProducer;
  logger: Logger;
  /** The instance's background work, where opportunistic drains queue. */
  work: BackgroundWork;
  /**
   * The queue's bound; past it (or past a mailbox's share once the queue is half full), new unenriched changes
   * are logged and stay unenriched until the sweep, and re-reads are refused (their caller retries).
   */
  maxEntries: number;
  metrics?: Metrics;
  now?: () => number;
}

/** Reads per round: one round is a few `$batch` requests through the fetcher's pacing. */
const ROUND = 100;
/** Entries one run looks at; what is left waits for the next run. */
const PER_RUN = 20_000;
/** After this many failed runs an entry is given up (its record stays unenriched, and says why). */
const MAX_ATTEMPTS = 48;
/** How long an admission waits for the instance's first count of the queue. */
const FIRST_COUNT_WAIT_MS = 500;
/** The least time between two opportunistic drains by one instance. */
const NUDGE_GAP_MS = 60_000;
/** Reasons that say Graph is struggling: a round that meets many of them ends the run early. */
const BACKOFF = new Set(['throttled', 'graph_unavailable', 'token_unavailable']);

/**
 * Makes every record eventually complete: a change produced unenriched is queued in the state store (one entry
 * per event, bounded), and the queue is drained by the timer run and opportunistically by instances once Graph
 * answers again, through the same `$batch` fetcher and pacing. Each repair produces an enriched record with
 * `source: "repair"`; the entry goes once Kafka acknowledged it.
 */
export class Repairer {
  private readonly o: RepairerOptions;
  private readonly now: () => number;
  private readonly admission: QueueAdmission;
  private readonly queue: Collection<RepairEntry>;
  private countedAt = -Infinity;
  /** The first count of the queue: admission waits for it a moment (FIRST_COUNT_WAIT_MS), not longer. */
  private firstCount: Promise<void> | undefined;
  private draining: Promise<RepairReport> | undefined;
  private nudgedAt = -Infinity;
  /** Whether this instance knows of waiting entries (it queued some, or a drain left some). */
  private pending = false;

  constructor(options: RepairerOptions) {
    this.o = options;
    this.queue = new Collection(options.store, repairCollection);
    this.now = options.now ?? Date.now;
    this.admission = new QueueAdmission(options.maxEntries);
  }

  /** Queues changes produced without their item. Never throws: a failure only leaves a record unrepaired. */
  private async enqueueEntries(entries: RepairEntry[]): Promise<void> {
    if (!entries.length) return;
    await this.counted();
    const admitted = this.admission.admit(entries);
    const refused = entries.filter((_, i) => !admitted[i]);
    if (refused.length) {
      this.o.metrics?.repaired('refused', refused.length);
      this.o.logger.error(
        'repair queue full (or these mailboxes hold their share of it); unenriched records stay so until the sweep: fix what keeps Graph from answering (token, throttling), then raise G2K_REPAIR_QUEUE_MAX if the backlog is real',
        {
          count: refused.length,
          mailboxes: new Set(refused.map(mailboxOf)).size,
          queued: this.admission.size,
          maxEntries: this.o.maxEntries,
        },
      );
    }
    try {
      await Promise.all(entries.filter((_, i) => admitted[i]).map((e) => this.put(e)));
      this.pending = true;
    } catch (err) {
      this.o.logger.error('queueing unenriched records for repair failed', { error: errorMessage(err) });
    }
  }

  /**
   * Queues keys to be read again: their record may have landed after a newer one (two instances racing), or a
   * carried item lost to the fence and only a read can say what Graph has now. Throws when the store refuses, so
   * the caller keeps its own retry.
   */
  async reread(
    units: ReadonlyArray<{ records: ChangeRecords; select?: string | undefined }>,
    reason: string,
  ): Promise<void> {
    const firstSeenAt = new Date(this.now()).toISOString();
    const entries = units.map(({ records, select }) => entryOf(records, select, 'updated', reason, firstSeenAt));
    await this.admit(entries);
    await Promise.all(entries.map((e) => this.put(e)));
    this.pending = true;
  }

  /**
   * Queues the series masters of occurrences a notification named (Graph names only masters; a forged or
   * replayed POST can name an occurrence): the master is read and produced, never the occurrence's own key.
   */
  async enqueueMasters(items: ReadonlyArray<{ n: VerifiedChange; masterId: string }>): Promise<void> {
    await this.admit(items.map(({ n }) => ({ tenantId: n.tenantId, userId: n.target.userId ?? '' })));
    const firstSeenAt = new Date(this.now()).toISOString();
    await Promise.all(
      items.map(({ n, masterId }) =>
        this.put({
          tenantId: n.tenantId,
          kind: n.kind,
          userId: n.target.userId ?? '',
          itemId: masterId,
          ...(n.select ? { select: n.select } : {}),
          subscriptionId: n.subscriptionId,
          changeType: 'updated',
          resource: KINDS[n.kind].itemResource(n.target, masterId),
          reason: 'series_master',
          firstSeenAt,
          attempts: 0,
        }),
      ),
    );
    this.pending = true;
  }

  /**
   * What produced records owe the repair queue (registered with the emit path): an unenriched record (or a delete
   * Graph has not confirmed) its repair, queued once it is in Kafka so the repair can never overtake it; a
   * notification's `created` or `updated` read as gone one more read, since Graph's replicas can lag.
   */
  async followUp(produced: ReadonlyArray<EventUnit>): Promise<void> {
    const unenriched = produced.filter((u) => !u.records.facts.enriched && !u.records.facts.gone);
    const goneAfterChange = produced.filter(
      (u) =>
        u.records.facts.source === 'notification' && u.records.facts.gone && u.records.facts.changeType !== 'deleted',
    );
    await Promise.all([
      this.enqueueRecords(unenriched),
      goneAfterChange.length
        ? this.reread(goneAfterChange, 'gone_after_change').then(
            () => this.o.metrics?.fenced('gone_after_change', goneAfterChange.length),
            (err: unknown) =>
              this.o.logger.warn('a read that found an item gone after its change is not checked again', {
                error: errorMessage(err),
              }),
          )
        : undefined,
    ]);
  }

  /** Queues records produced without their item (`enqueue`, from the records themselves). */
  private enqueueRecords(units: ReadonlyArray<EventUnit>): Promise<void> {
    if (!units.length) return Promise.resolve();
    return this.enqueueEntries(
      units.map(({ records: r, select }) =>
        entryOf(r, select, r.facts.changeType, r.facts.notEnrichedReason ?? 'not_enriched', r.facts.receivedAt),
      ),
    );
  }

  /** Deletes the entry only if no put came since the one it was listed from (its nonce). */
  private remove(entry: RepairEntry): Promise<void> {
    return this.queue.delete(entry, repairDeleteCondition(entry));
  }

  /** Every put carries a fresh nonce: a run deletes only the entry it listed, never one put again since. */
  private put(entry: RepairEntry): Promise<void> {
    return this.queue.put({ ...entry, nonce: randomUUID() });
  }

  /**
   * Re-reads and series masters count against the queue's bound like unenriched records: a forged POST must not
   * grow the queue past it. Throws when full, so the caller has the change retried rather than dropped.
   */
  private async admit(entries: ReadonlyArray<Pick<RepairEntry, 'tenantId' | 'userId'>>): Promise<void> {
    if (!entries.length) return;
    await this.counted();
    const admitted = this.admission.admit(entries);
    if (admitted.every(Boolean)) return;
    this.o.metrics?.repaired('refused', admitted.filter((a) => !a).length);
    throw new Error(
      `the repair queue is full, or this mailbox holds its share of it (G2K_REPAIR_QUEUE_MAX ${this.o.maxEntries}): fix what keeps Graph from answering, or raise the bound`,
    );
  }

  /** Graph answered a read: if repairs are waiting, drain some in the background (at most once a minute). */
  nudge(): void {
    if (!this.pending || this.draining || this.now() - this.nudgedAt < NUDGE_GAP_MS) return;
    this.nudgedAt = this.now();
    this.o.work.add('repair', () => this.drain(this.now() + 20_000));
  }

  /**
   * Repairs what it can before `deadline`, one drain at a time per instance. A drain already under way (say an
   * opportunistic one that listed the queue before the last entries arrived) is waited for, then a fresh one
   * lists the queue again: a timer run never settles for an older drain's view.
   */
  async drain(deadline: number): Promise<RepairReport> {
    while (this.draining) await this.draining.catch(() => undefined);
    const run = this.run(deadline).finally(() => {
      this.draining = undefined;
    });
    this.draining = run;
    return run;
  }

  private async run(deadline: number): Promise<RepairReport> {
    const report: RepairReport = { repaired: 0, gone: 0, left: 0, abandoned: 0 };
    const entries = await this.queue.list({ limit: PER_RUN });
    let next = 0;
    while (next < entries.length && this.now() < deadline) {
      const round = entries.slice(next, next + ROUND);
      next += round.length;
      // Tokens before the reads: a notification read that starts after them wins over what they find.
      const tokens = await this.o.events.observe(round.map(scopeOf));
      const readBy = new Budget(deadline, this.now).part(BACKGROUND_STEP_MS).deadline;
      const outcomes = await Promise.all(
        round.map((e) => {
          const { kind, target, itemId } = repairTarget(e);
          return this.o.fetcher.fetchItem(e.tenantId.toLowerCase(), kind, target, itemId, e.select, readBy);
        }),
      );
      const all = round.map((entry, i) => ({ entry, outcome: outcomes[i]! }));
      // An entry that names an occurrence (a notification did): its master is read instead.
      const occurrences = all.filter(({ entry, outcome }) => outcome.kind === 'found' && masterOf(entry, outcome));
      for (const { entry, outcome } of occurrences) {
        const { nonce: _n, ...named } = entry;
        await this.put({
          ...named,
          itemId: masterOf(entry, outcome)!,
          changeType: 'updated',
          reason: 'series_master',
          attempts: 0,
        });
        await this.remove(entry);
        report.repaired++;
      }
      const ready = all.filter(({ entry, outcome }) => outcome.kind !== 'failed' && !masterOf(entry, outcome));
      const results = await this.o.events.produce(
        ready.map(({ entry, outcome }) => ({
          records: repairRecords(entry, outcome, this.now()),
          notification: null,
          token: tokens.get(scopeOf(entry))!,
          select: entry.select,
        })),
        new Budget(deadline, this.now).part(BACKGROUND_STEP_MS).deadline,
      );
      for (const [i, { entry, outcome }] of ready.entries()) {
        const r = results[i]!;
        // Put again (a fresh nonce), so another instance's run that listed it and lost the race for its key does
        // not delete it: the change is still owed.
        if (r.status === 'retry_later') {
          await this.put(entry);
          continue;
        }
        // A re-read was queued under this entry's own id: it stays, to be read again.
        if ((r.status === 'produced' || r.status === 'superseded') && r.reread) continue;
        await this.remove(entry);
        if (outcome.kind === 'gone') report.gone++;
        else report.repaired++;
      }
      for (const [i, entry] of round.entries())
        if (outcomes[i]!.kind === 'failed') await this.failed(entry, outcomes[i]!, report);
      // Graph still throttling or down: stop reading now rather than spend the run on refusals.
      const struggling = outcomes.filter((o) => o.kind === 'failed' && BACKOFF.has(o.reason)).length;
      if (struggling * 2 > round.length) break;
    }
    report.left = entries.length - report.repaired - report.gone - report.abandoned;
    this.o.metrics?.repaired('repaired', report.repaired);
    this.o.metrics?.repaired('gone', report.gone);
    this.o.metrics?.repaired('abandoned', report.abandoned);
    this.pending = report.left > 0 || entries.length === PER_RUN;
    // The run deleted entries: the next admission counts the queue again.
    this.countedAt = -Infinity;
    if (report.repaired || report.gone || report.left) this.o.logger.info('repair run', { ...report });
    return report;
  }

  private async failed(entry: RepairEntry, outcome: FetchOutcome, report: RepairReport): Promise<void> {
    const attempts = entry.attempts + 1;
    if (attempts >= MAX_ATTEMPTS) {
      await this.remove(entry);
      report.abandoned++;
      this.o.logger.error('repair abandoned after repeated failures; the record stays unenriched', {
        tenantId: entry.tenantId,
        kind: entry.kind,
        userId: entry.userId,
        itemId: entry.itemId,
        reason: outcome.kind === 'failed' ? outcome.reason : outcome.kind,
        attempts,
      });
      return;
    }
    await this.put({ ...entry, attempts, lastAttemptAt: new Date(this.now()).toISOString() });
  }

  /**
   * The queue's count for admission: the first one is waited for; later ones run in the background now and then
   * (more often once the queue is half full), while admission goes on from the last count plus what it admitted.
   */
  private async counted(): Promise<void> {
    if (this.now() - this.countedAt >= this.admission.recountEvery()) {
      this.countedAt = this.now();
      const done = this.admission.recount();
      const count = this.queue.list({ limit: this.o.maxEntries }).then((entries) => {
        done(entries);
        if (entries.length) this.pending = true;
      });
      this.firstCount ??= count.catch(() => {
        this.firstCount = undefined;
        this.countedAt = -Infinity;
      });
      void count.catch(() => undefined);
    }
    // On Graph's clock (a POST's re-reads are admitted before it is answered): a large queue's first listing is
    // waited for a moment only; until it answers, admission counts what this instance admitted.
    if (this.firstCount) await waitAtMost(this.firstCount, FIRST_COUNT_WAIT_MS);
  }
}

/** The repair entry that reads the item of `records` again (with the `$select` it was read with). */
function entryOf(
  r: ChangeRecords,
  select: string | undefined,
  changeType: RepairEntry['changeType'],
  reason: string,
  firstSeenAt: string,
): RepairEntry {
  return {
    tenantId: r.facts.tenantId,
    kind: r.kind.name,
    userId: r.target.userId ?? '',
    itemId: r.itemId,
    ...(r.target.folderId ? { folderId: r.target.folderId } : {}),
    ...(select ? { select } : {}),
    subscriptionId: r.facts.subscriptionId,
    changeType,
    resource: r.facts.resource,
    reason,
    firstSeenAt,
    attempts: 0,
  };
}

const scopeOf = (e: RepairEntry): string => fenceScope(e.tenantId, e.kind, e.userId);

/** The series master of an entry's item, when the item read is an occurrence or exception of one. */
function masterOf(entry: RepairEntry, outcome: FetchOutcome): string | undefined {
  if (outcome.kind !== 'found') return undefined;
  return KINDS[entry.kind].parentOf?.(outcome.item);
}
