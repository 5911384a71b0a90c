import type { SubscriptionContext } from './context.ts';
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

/** What graph2kafka does about Graph's lifecycle notifications: reauthorize, recreate, resync. */
export class LifecycleActions {
  private readonly ctx: SubscriptionContext;
  private readonly writes: SubscriptionWrites;

  constructor(ctx: SubscriptionContext, writes: SubscriptionWrites) {
    this.ctx = ctx;
    this.writes = writes;
  }

  /**
   * Acts on a verified lifecycle notification within `deadline`; what does not fit is left to the timer.
   * Lifecycle items are accepted on a clientState that every POST carries, so they are treated as claims:
   * guards read the current record (not the cached one), and nothing is torn down before Graph confirms.
   */
  async handle(n: LifecycleNotification, verified: SubscriptionRecord, deadline: number): Promise<void> {
    const record = await this.current(verified.id);
    if (!record) return;
    const now = this.ctx.now();
    if (n.lifecycleEvent === 'reauthorizationRequired') {
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
    if (n.lifecycleEvent === 'subscriptionRemoved') {
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
