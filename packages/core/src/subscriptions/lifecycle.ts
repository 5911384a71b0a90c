import type { Logger } from '../logger.ts';
import type { LifecycleNotification } from '../model/change.ts';
import type { SubscriptionStore } from '../state/subscription-store.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import { PATCH_REAUTH_GAP_MS } from './reconcile.ts';
import { ref, type Resyncer } from './resync.ts';
import type { SubscriptionApi } from './subscription-api.ts';
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
  private readonly api: SubscriptionApi;
  private readonly store: SubscriptionStore;
  private readonly resyncer: Resyncer;
  private readonly writes: SubscriptionWrites;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(deps: {
    api: SubscriptionApi;
    store: SubscriptionStore;
    resyncer: Resyncer;
    writes: SubscriptionWrites;
    logger: Logger;
  }) {
    this.api = deps.api;
    this.store = deps.store;
    this.resyncer = deps.resyncer;
    this.writes = deps.writes;
    this.logger = deps.logger;
    this.now = deps.writes.now;
  }

  /**
   * Acts on a verified lifecycle notification within `deadline`; what does not fit is left to the timer.
   * Lifecycle items are accepted on a clientState that every POST carries, so they are treated as claims:
   * guards read the current record (not the cached one), and nothing is torn down before Graph confirms.
   */
  async handle(n: LifecycleNotification, verified: SubscriptionRecord, deadline: number): Promise<void> {
    const record = await this.current(verified.id);
    if (!record) return;
    const now = this.now();
    if (n.lifecycleEvent === 'reauthorizationRequired') {
      if (record.lastRenewedAt && now - Date.parse(record.lastRenewedAt) < PATCH_REAUTH_GAP_MS) return;
      if (record.lastReauthorizedAt && now - Date.parse(record.lastReauthorizedAt) < 60_000) return;
      const result = await this.api.reauthorize(record.tenantId, record.id);
      if (result === 'gone') {
        await this.writes.recreate(record, deadline);
        return;
      }
      await this.store.put({
        ...record,
        lastReauthorizedAt: new Date(this.now()).toISOString(),
        updatedAt: new Date(this.now()).toISOString(),
      });
      return;
    }
    if (n.lifecycleEvent === 'subscriptionRemoved') {
      // A replayed or forged removal must not drop the secret of a subscription Graph still delivers for.
      if ((await this.api.get(record.tenantId, record.id)) !== 'gone') {
        this.logger.warn('subscriptionRemoved for a subscription Graph still has; ignored', {
          subscriptionId: record.id,
        });
        return;
      }
      await this.writes.recreate(record, deadline);
      return;
    }
    const want = this.writes.wantOf(record);
    const sync = await this.store.getSync(ref(syncTargetOf(want)));
    // A resync that is already owed is finished by the timer; repeating `missed` must not start more rounds.
    // The sync state's time is the machine's (the resyncer writes it), not Graph's.
    if (sync?.resyncPending && Date.now() - Date.parse(sync.updatedAt) < MISSED_RESYNC_GAP_MS) return;
    if (record.lastMissedAt && now - Date.parse(record.lastMissedAt) < MISSED_COALESCE_MS) {
      if (!sync?.resyncPending) await this.resyncer.markPending(syncTargetOf(want));
      this.logger.info('missed soon after the last one: its resync is left to the timer', {
        subscriptionId: record.id,
      });
      return;
    }
    await this.store.put({ ...record, lastMissedAt: new Date(now).toISOString() });
    const result = await this.resyncer.resync(syncTargetOf(want), record.id, deadline);
    if (!result.complete) this.logger.info('resync continues with the next timer run', { resource: want.resource });
  }

  /** The stored record as it is now, bypassing any cache (a cached copy may predate the last renewal). */
  private current(id: string): Promise<SubscriptionRecord | undefined> {
    return this.store.getFresh ? this.store.getFresh(id) : this.store.get(id);
  }
}
