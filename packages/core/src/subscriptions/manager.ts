import { randomBytes } from 'node:crypto';
import type { Config, SubscriptionSettings } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { LifecycleNotification } from '../receive/notification.ts';
import { subscribedMailbox } from '../receive/resource.ts';
import { pendingId, type SubscriptionRecord, type SubscriptionStore } from '../state/subscription-store.ts';
import type { Resyncer } from './resync.ts';
import type { GraphSubscription, SubscriptionApi } from './subscription-api.ts';

export interface ReconcileReport {
  created: string[];
  renewed: string[];
  recreated: string[];
  deleted: string[];
  resynced: string[];
  unchanged: number;
  errors: string[];
}

const emptyReport = (): ReconcileReport => ({
  created: [],
  renewed: [],
  recreated: [],
  deleted: [],
  resynced: [],
  unchanged: 0,
  errors: [],
});

/** Graph asks not to PATCH and reauthorize one subscription within 10 minutes. */
const PATCH_REAUTH_GAP_MS = 10 * 60_000;
/** A `missed` within this long of a resync still under way adds nothing: that resync covers it. */
const MISSED_RESYNC_GAP_MS = 60_000;

const sameUrl = (a: string | null | undefined, b: string): boolean =>
  !!a && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Keeps the configured subscriptions alive: creates missing ones (lifecycle URL, immutable ids, a fresh
 * clientState secret each), renews those expiring within the margin, recreates what Graph removed (then
 * resyncs the gap), deletes what is no longer wanted, and acts on lifecycle notifications. Safe to run twice
 * at once: Graph refuses a duplicate create (409), and only records older than the run are treated as orphans.
 */
export class SubscriptionManager {
  private readonly config: Config;
  private readonly settings: SubscriptionSettings;
  private readonly api: SubscriptionApi;
  private readonly store: SubscriptionStore;
  private readonly resyncer: Resyncer;
  private readonly logger: Logger;
  /** Graph's time: expirations are judged against it (tests pass graph-sim's simulated clock). */
  private readonly now: () => number;

  constructor(deps: {
    config: Config;
    settings: SubscriptionSettings;
    api: SubscriptionApi;
    store: SubscriptionStore;
    resyncer: Resyncer;
    logger: Logger;
    now?: () => number;
  }) {
    this.now = deps.now ?? Date.now;
    this.config = deps.config;
    this.settings = deps.settings;
    this.api = deps.api;
    this.store = deps.store;
    this.resyncer = deps.resyncer;
    this.logger = deps.logger;
  }

  private get tenantId(): string {
    return this.config.graph.homeTenantId;
  }

  async reconcile(progress: (line: string) => void = () => undefined): Promise<ReconcileReport> {
    const report = emptyReport();
    const startedAt = new Date(this.now()).toISOString();
    const all = await this.store.list();
    const stored = all.filter((r) => !r.pending);
    const storedById = new Map(stored.map((r) => [r.id, r]));
    const live = (await this.api.list(this.tenantId)).filter((s) =>
      sameUrl(s.notificationUrl, this.settings.notificationUrl),
    );
    const liveIds = new Set(live.map((s) => s.id));
    const byUser = new Map<string, GraphSubscription[]>();
    for (const sub of live) {
      const user = subscribedMailbox(sub.resource);
      if (user) byUser.set(user, [...(byUser.get(user) ?? []), sub]);
      else await this.remove(sub.id, report);
    }
    const members = await Promise.all(this.settings.groups.map((g) => this.api.groupMembers(this.tenantId, g)));
    const desired = [...new Set([...this.settings.users, ...members.flat()].map((u) => u.toLowerCase()))];
    progress(`${desired.length} mailboxes wanted, ${live.length} subscriptions live, ${stored.length} stored`);
    let done = 0;
    await forEachLimited(desired, 32, async (userId) => {
      try {
        await this.reconcileMailbox(userId, byUser.get(userId) ?? [], storedById, stored, report);
      } catch (err) {
        report.errors.push(`${userId}: ${(err as Error).message}`);
        this.logger.error('reconciling a mailbox failed', { userId, error: (err as Error).message });
      }
      if (++done % 500 === 0) progress(`${done}/${desired.length} mailboxes reconciled`);
    });
    for (const [userId, subs] of byUser) {
      if (desired.includes(userId)) continue;
      for (const sub of subs) await this.remove(sub.id, report);
    }
    // Records whose subscription Graph no longer has, and pending markers of earlier runs; only those older
    // than this run (a parallel run may have just created one that the list above could not show).
    for (const record of all) {
      if (!liveIds.has(record.id) && record.createdAt < startedAt && (await this.store.get(record.id)))
        await this.store.delete(record.id);
    }
    await this.resyncPending(report);
    progress(
      `created ${report.created.length}, renewed ${report.renewed.length}, recreated ${report.recreated.length}, deleted ${report.deleted.length}, resynced ${report.resynced.length}, unchanged ${report.unchanged}, errors ${report.errors.length}`,
    );
    return report;
  }

  /**
   * Acts on a verified lifecycle notification within `deadline`; what does not fit is left to the timer.
   * Lifecycle items are accepted on a clientState that every POST carries, so they are treated as claims:
   * guards read the current record (not the cached one), and nothing is torn down before Graph confirms.
   */
  async handleLifecycle(n: LifecycleNotification, verified: SubscriptionRecord, deadline: number): Promise<void> {
    const record = await this.current(verified.id);
    if (!record) return;
    const now = this.now();
    if (n.lifecycleEvent === 'reauthorizationRequired') {
      if (record.lastRenewedAt && now - Date.parse(record.lastRenewedAt) < PATCH_REAUTH_GAP_MS) return;
      if (record.lastReauthorizedAt && now - Date.parse(record.lastReauthorizedAt) < 60_000) return;
      const result = await this.api.reauthorize(this.tenantId, record.id);
      if (result === 'gone') {
        await this.recreate(record, deadline);
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
      if ((await this.api.get(this.tenantId, record.id)) !== 'gone') {
        this.logger.warn('subscriptionRemoved for a subscription Graph still has; ignored', {
          subscriptionId: record.id,
        });
        return;
      }
      await this.recreate(record, deadline);
      return;
    }
    const sync = await this.store.getSync(record.tenantId, record.userId);
    // A resync that is already owed is finished by the timer; repeating `missed` must not start more rounds.
    // The sync state's time is the machine's (the resyncer writes it), not Graph's.
    if (sync?.resyncPending && Date.now() - Date.parse(sync.updatedAt) < MISSED_RESYNC_GAP_MS) return;
    const result = await this.resyncer.resync(record.tenantId, record.userId, record.id, deadline);
    if (!result.complete) this.logger.info('resync continues with the next timer run', { userId: record.userId });
  }

  /** The stored record as it is now, bypassing any cache (a cached copy may predate the last renewal). */
  private current(id: string): Promise<SubscriptionRecord | undefined> {
    return this.store.getFresh ? this.store.getFresh(id) : this.store.get(id);
  }

  /** Renews every stored subscription now (ops: `graph2kafka subscriptions renew`). */
  async renewAll(progress: (line: string) => void = () => undefined): Promise<ReconcileReport> {
    const report = emptyReport();
    const records = (await this.store.list()).filter((r) => !r.pending);
    let done = 0;
    await forEachLimited(records, 32, async (record) => {
      try {
        const renewed = await this.api.renew(this.tenantId, record.id, this.expiration());
        if (renewed === 'gone') report.errors.push(`${record.id}: Graph no longer has it (run create to replace it)`);
        else await this.renewed(record, renewed, report);
      } catch (err) {
        report.errors.push(`${record.id}: ${(err as Error).message}`);
      }
      if (++done % 500 === 0) progress(`${done}/${records.length} renewed`);
    });
    return report;
  }

  /** Deletes one subscription, or all of this app's on the notification URL (ops). */
  async deleteSubscriptions(target: { id: string } | { all: true }): Promise<ReconcileReport> {
    const report = emptyReport();
    const ids =
      'all' in target
        ? (await this.api.list(this.tenantId))
            .filter((s) => sameUrl(s.notificationUrl, this.settings.notificationUrl))
            .map((s) => s.id)
        : [target.id];
    for (const one of ids) {
      try {
        await this.remove(one, report);
      } catch (err) {
        report.errors.push(`${one}: ${(err as Error).message}`);
      }
    }
    return report;
  }

  /** Resyncs one mailbox now (ops). */
  async resyncMailbox(userId: string): Promise<number> {
    const record = (await this.store.list()).find((r) => !r.pending && r.userId.toLowerCase() === userId.toLowerCase());
    const result = await this.resyncer.resync(this.tenantId, userId.toLowerCase(), record?.id ?? '');
    return result.produced;
  }

  /** This app's live subscriptions on the notification URL, with whether their secret is held. */
  async listSubscriptions(): Promise<Array<GraphSubscription & { stored: boolean }>> {
    const stored = new Set((await this.store.list()).filter((r) => !r.pending).map((r) => r.id));
    return (await this.api.list(this.tenantId))
      .filter((s) => sameUrl(s.notificationUrl, this.settings.notificationUrl))
      .map((s) => ({ ...s, stored: stored.has(s.id) }));
  }

  /** Finishes resyncs owed to mailboxes (after missed or removed subscriptions). */
  async resyncPending(report?: ReconcileReport): Promise<void> {
    const states = (await this.store.listSync()).filter((s) => s.resyncPending);
    const records = (await this.store.list()).filter((r) => !r.pending);
    for (const state of states) {
      const sub = records.find((r) => r.userId.toLowerCase() === state.userId.toLowerCase());
      try {
        const result = await this.resyncer.resync(state.tenantId, state.userId, sub?.id ?? '');
        if (result.complete) report?.resynced.push(state.userId);
      } catch (err) {
        report?.errors.push(`resync ${state.userId}: ${(err as Error).message}`);
      }
    }
  }

  private async reconcileMailbox(
    userId: string,
    subs: GraphSubscription[],
    storedById: Map<string, SubscriptionRecord>,
    stored: SubscriptionRecord[],
    report: ReconcileReport,
  ): Promise<void> {
    const keep = subs.find((s) => storedById.has(s.id));
    // A live subscription whose secret we do not hold cannot be verified: replace it.
    for (const extra of subs.filter((s) => s !== keep)) await this.remove(extra.id, report);
    if (!keep) {
      const lost = stored.filter((r) => r.userId.toLowerCase() === userId);
      const created = await this.create(userId);
      if (created === 'conflict') return;
      if (lost.length || subs.length) {
        // It existed and is gone or was replaced (expired, removed, its secret lost): whatever the reason,
        // what changed meanwhile comes back through delta.
        for (const old of lost) await this.store.delete(old.id);
        report.recreated.push(created.id);
        await this.resyncer.markPending(this.tenantId, userId);
      } else {
        report.created.push(created.id);
      }
      return;
    }
    const record = storedById.get(keep.id)!;
    const remainingMs = Date.parse(keep.expirationDateTime) - this.now();
    if (remainingMs > this.settings.renewWithinMinutes * 60_000) {
      report.unchanged++;
      return;
    }
    const reauthorizedRecently =
      record.lastReauthorizedAt && this.now() - Date.parse(record.lastReauthorizedAt) < PATCH_REAUTH_GAP_MS;
    if (reauthorizedRecently && remainingMs > 2 * PATCH_REAUTH_GAP_MS) {
      report.unchanged++;
      return;
    }
    const renewed = await this.api.renew(this.tenantId, keep.id, this.expiration());
    if (renewed === 'gone') {
      await this.store.delete(keep.id);
      const created = await this.create(userId);
      if (created !== 'conflict') {
        report.recreated.push(created.id);
        await this.resyncer.markPending(this.tenantId, userId);
      }
      return;
    }
    await this.renewed(record, renewed, report);
  }

  private async renewed(
    record: SubscriptionRecord,
    renewed: GraphSubscription,
    report: ReconcileReport,
  ): Promise<void> {
    const now = new Date(this.now()).toISOString();
    await this.store.put({
      ...record,
      expirationDateTime: renewed.expirationDateTime,
      lastRenewedAt: now,
      updatedAt: now,
    });
    report.renewed.push(record.id);
  }

  private async recreate(record: SubscriptionRecord, deadline: number): Promise<void> {
    await this.store.delete(record.id);
    await this.resyncer.markPending(record.tenantId, record.userId);
    const created = await this.create(record.userId);
    const subscriptionId = created === 'conflict' ? record.id : created.id;
    const result = await this.resyncer.resync(record.tenantId, record.userId, subscriptionId, deadline);
    if (!result.complete) this.logger.info('resync continues with the next timer run', { userId: record.userId });
  }

  private async create(userId: string): Promise<SubscriptionRecord | 'conflict'> {
    const clientState = randomBytes(32).toString('base64url');
    const body = {
      changeType: this.settings.changeTypes,
      notificationUrl: this.settings.notificationUrl,
      lifecycleNotificationUrl: this.settings.lifecycleNotificationUrl,
      resource: `/users/${userId}/events`,
      expirationDateTime: this.expiration(),
      clientState,
    };
    // Track the mailbox before the subscription exists, so no change falls between the two.
    await this.resyncer.baseline(this.tenantId, userId);
    const now = new Date(this.now()).toISOString();
    const base = {
      tenantId: this.tenantId,
      userId,
      resource: body.resource,
      changeType: body.changeType,
      clientState,
      notificationUrl: body.notificationUrl,
      lifecycleNotificationUrl: body.lifecycleNotificationUrl,
      createdAt: now,
      updatedAt: now,
    };
    // Graph may deliver the first change before the create call returns: the marker makes the receiver
    // answer "retry" for this clientState until the record below is stored.
    await this.store.put({
      ...base,
      id: pendingId(clientState),
      expirationDateTime: body.expirationDateTime,
      pending: true,
    });
    const sub = await this.api.create(this.tenantId, body);
    if (sub === 'conflict') return 'conflict';
    const record: SubscriptionRecord = { ...base, id: sub.id, expirationDateTime: sub.expirationDateTime };
    await this.store.put(record);
    return record;
  }

  private async remove(id: string, report: ReconcileReport): Promise<void> {
    await this.api.delete(this.tenantId, id);
    await this.store.delete(id);
    report.deleted.push(id);
  }

  private expiration(): string {
    return new Date(this.now() + this.settings.lifetimeMinutes * 60_000).toISOString();
  }
}
