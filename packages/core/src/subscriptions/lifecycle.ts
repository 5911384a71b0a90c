import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors.ts';
import { Budget } from '../model/budget.ts';
import type { TaskFigures } from '../model/feature.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import { withTimeout } from '../timeout.ts';
import type { BackgroundWork } from '../work/background-work.ts';
import type { SubscriptionContext } from './context.ts';
import { lifecycleCollection, type LifecycleActionEntry, type LifecycleEvent } from './lifecycle-queue.ts';
import type { LifecycleNotification } from '../model/change.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import { PATCH_REAUTH_GAP_MS } from './reconcile.ts';
import { ref } from './resync.ts';
import { syncTargetOf } from './want.ts';
import type { SubscriptionWrites } from './writes.ts';

/** A `missed` within this long of a resync still under way adds nothing: that resync covers it. */
const MISSED_RESYNC_GAP_MS = 60_000;
/**
 * A `missed` within this long of the last one that ran a resync leaves its round to the timer: one round however
 * many came. A clientState holder's forged `missed` then costs one round per window, not one per POST.
 */
export const MISSED_COALESCE_MS = 10 * 60_000;

/** Actions one drain lists at most; the rest wait for the next drain, oldest first. */
const DRAIN_BATCH = 200;
/** One action's share of a drain: a recreate waits for Graph's validation of our URL (up to 10 s) and a resync. */
const ACTION_MS = 60_000;
/** A drain kicked by a POST: long enough for a few actions, short enough to end well within an instance's life. */
const BACKGROUND_DRAIN_MS = 2 * 60_000;
/** An action that keeps failing is given up after this many drains (the timer's reconcile and audit still cover it). */
const MAX_ATTEMPTS = 48;

/**
 * What graph2kafka does about Graph's lifecycle notifications: reauthorize, recreate, resync. None of it happens
 * inside Graph's 3 s answer: the POST records the action (`record`, durably, in the state store) and answers;
 * a drain performs it right after, in the background, and the timer drains what is left. Microsoft's own steps
 * for `reauthorizationRequired` are "respond 202 Accepted, then reauthorize"; a recreate waits for Graph to
 * validate our own URL, and a resync reads a whole delta round, neither of which fits an answer's budget.
 */
export class LifecycleActions {
  private readonly ctx: SubscriptionContext;
  private readonly writes: SubscriptionWrites;
  private readonly actions: Collection<LifecycleActionEntry, Pick<LifecycleActionEntry, 'subscriptionId' | 'event'>>;
  private readonly work: BackgroundWork | undefined;

  constructor(ctx: SubscriptionContext, writes: SubscriptionWrites, documents: DocumentStore, work?: BackgroundWork) {
    this.ctx = ctx;
    this.writes = writes;
    this.actions = new Collection(documents, lifecycleCollection);
    this.work = work;
  }

  /**
   * Records that a verified lifecycle notification owes its action, within `deadline` (the POST's): throws when
   * the store does not take it in time, so Graph redelivers the notification. Then a background drain starts.
   */
  async record(n: LifecycleNotification, verified: SubscriptionRecord, deadline: number): Promise<void> {
    const entry: LifecycleActionEntry = {
      subscriptionId: verified.id,
      tenantId: verified.tenantId,
      event: n.lifecycleEvent,
      receivedAt: new Date().toISOString(),
      attempts: 0,
      nonce: randomUUID(),
    };
    await withTimeout(
      this.actions.put(entry),
      Math.max(1, deadline - Date.now()),
      () => new Error('the state store did not record the lifecycle action in time'),
    );
    this.work?.add('lifecycle', () => this.drain(Budget.of(BACKGROUND_DRAIN_MS)));
  }

  /** Performs the actions owed, oldest first, within `budget`; what is left waits for the next drain. */
  async drain(budget: Budget): Promise<TaskFigures> {
    const owed = (await this.actions.list({ limit: DRAIN_BATCH })).sort((a, b) =>
      a.receivedAt.localeCompare(b.receivedAt),
    );
    const figures = { done: 0, failed: 0, abandoned: 0, left: 0 };
    for (const entry of owed) {
      if (budget.spent()) {
        figures.left++;
        continue;
      }
      try {
        await this.handle(entry.event, entry.subscriptionId, budget.part(ACTION_MS).deadline);
        await this.actions.delete(entry, { field: 'nonce', value: entry.nonce });
        figures.done++;
      } catch (err) {
        const attempts = entry.attempts + 1;
        if (attempts >= MAX_ATTEMPTS) {
          this.ctx.logger.error(
            'a lifecycle action kept failing and is given up; the timer reconciles the subscription',
            {
              subscriptionId: entry.subscriptionId,
              lifecycleEvent: entry.event,
              error: errorMessage(err),
            },
          );
          await this.actions.delete(entry, { field: 'nonce', value: entry.nonce });
          figures.abandoned++;
        } else {
          this.ctx.logger.warn('a lifecycle action failed; the next drain tries again', {
            subscriptionId: entry.subscriptionId,
            lifecycleEvent: entry.event,
            error: errorMessage(err),
          });
          await this.actions.put({ ...entry, attempts, lastAttemptAt: new Date().toISOString() });
          figures.failed++;
        }
      }
    }
    return figures;
  }

  /** The actions owed now (status). */
  owed(limit: number): Promise<LifecycleActionEntry[]> {
    return this.actions.list({ limit });
  }

  /**
   * Acts on a lifecycle event of a subscription within `deadline`; what does not fit is left to the timer.
   * Lifecycle items are accepted on a clientState that every POST carries, so they are treated as claims:
   * guards read the current record (not the cached one), and nothing is torn down before Graph confirms.
   */
  async handle(event: LifecycleEvent, subscriptionId: string, deadline: number): Promise<void> {
    const record = await this.current(subscriptionId);
    if (!record) return;
    const now = this.ctx.now();
    if (event === 'reauthorizationRequired') {
      if (record.lastRenewedAt && now - Date.parse(record.lastRenewedAt) < PATCH_REAUTH_GAP_MS) return;
      if (record.lastReauthorizedAt && now - Date.parse(record.lastReauthorizedAt) < 60_000) return;
      const result = await this.ctx.api.reauthorize(record.tenantId, record.id);
      if (result === 'gone') {
        await this.writes.recreate(record, deadline);
        return;
      }
      await this.ctx.store.put({
        ...record,
        lastReauthorizedAt: new Date(this.ctx.now()).toISOString(),
        updatedAt: new Date(this.ctx.now()).toISOString(),
      });
      return;
    }
    if (event === 'subscriptionRemoved') {
      // A replayed or forged removal must not drop the secret of a subscription Graph still delivers for.
      if ((await this.ctx.api.get(record.tenantId, record.id)) !== 'gone') {
        this.ctx.logger.warn('subscriptionRemoved for a subscription Graph still has; ignored', {
          subscriptionId: record.id,
        });
        return;
      }
      await this.writes.recreate(record, deadline);
      return;
    }
    const want = this.writes.wantOf(record);
    const sync = await this.ctx.syncStates.get(ref(syncTargetOf(want)));
    // A resync that is already owed is finished by the timer; repeating `missed` must not start more rounds.
    // The sync state's time is the machine's (the resyncer writes it), not Graph's.
    if (sync?.resyncPending && Date.now() - Date.parse(sync.updatedAt) < MISSED_RESYNC_GAP_MS) return;
    if (record.lastMissedAt && now - Date.parse(record.lastMissedAt) < MISSED_COALESCE_MS) {
      if (!sync?.resyncPending) await this.ctx.resyncer.markPending(syncTargetOf(want));
      this.ctx.logger.info('missed soon after the last one: its resync is left to the timer', {
        subscriptionId: record.id,
      });
      return;
    }
    await this.ctx.store.put({ ...record, lastMissedAt: new Date(now).toISOString() });
    const result = await this.ctx.resyncer.resync(syncTargetOf(want), record.id, deadline);
    if (!result.complete) this.ctx.logger.info('resync continues with the next timer run', { resource: want.resource });
  }

  /** The stored record as it is now, bypassing any cache (a cached copy may predate the last renewal). */
  private current(id: string): Promise<SubscriptionRecord | undefined> {
    return this.ctx.store.getFresh ? this.ctx.store.getFresh(id) : this.ctx.store.get(id);
  }
}
