import { randomBytes } from 'node:crypto';
import type { SubscriptionSettings } from '../config/config.ts';
import type { ResourceKind } from '../kinds/index.ts';
import type { Logger } from '../logger.ts';
import {
  pendingId,
  PENDING_AFTER_CREATE_MS,
  PENDING_CREATE_MS,
  type SubscriptionStore,
} from '../state/subscription-store.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import type { SubscriptionMode } from '../model/subscription-mode.ts';
import type { ReconcileReport } from './report.ts';
import type { Resyncer } from './resync.ts';
import type { SubscriptionApi } from './subscription-api.ts';
import type { GraphSubscription, NewSubscription } from '../model/subscription.ts';
import { spreadOf, syncTargetOf, wantOf, type Want } from './want.ts';
import type { SubscriptionModes } from './mode.ts';

/**
 * Every change graph2kafka makes to a subscription, at Graph and in the store together: creates (with the
 * pending marker that keeps Graph's first notification from being lost), renewals, removals and recreations.
 */
export class SubscriptionWrites {
  private readonly settings: SubscriptionSettings;
  private readonly api: SubscriptionApi;
  private readonly store: SubscriptionStore;
  private readonly resyncer: Resyncer;
  private readonly modes: SubscriptionModes;
  private readonly logger: Logger;
  /** Graph's time: expirations are judged against it (tests pass graph-sim's simulated clock). */
  readonly now: () => number;

  constructor(deps: {
    settings: SubscriptionSettings;
    api: SubscriptionApi;
    store: SubscriptionStore;
    resyncer: Resyncer;
    modes: SubscriptionModes;
    logger: Logger;
    now?: () => number;
  }) {
    this.settings = deps.settings;
    this.api = deps.api;
    this.store = deps.store;
    this.resyncer = deps.resyncer;
    this.modes = deps.modes;
    this.logger = deps.logger;
    this.now = deps.now ?? Date.now;
  }

  /** A stored subscription's want, to recreate it as it was. */
  wantOf(record: SubscriptionRecord): Want {
    return wantOf(record, this.modes);
  }

  async create(want: Want): Promise<SubscriptionRecord | 'conflict'> {
    const clientState = randomBytes(32).toString('base64url');
    const extra = want.mode.createFields(want.resource);
    const body: NewSubscription = {
      changeType: want.changeTypes,
      notificationUrl: this.settings.notificationUrl,
      lifecycleNotificationUrl: this.settings.lifecycleNotificationUrl,
      resource: want.resource,
      expirationDateTime: this.expiration(want.kind, want.resource, want.mode),
      clientState,
      ...extra.body,
    };
    // A snapshot produces the target's items from a delta round the timer starts after the create (changes from
    // then on are notified, earlier ones are in the round). Without one, the target is tracked before the
    // subscription exists, so no change falls between the two.
    if (want.snapshot) await this.resyncer.startSnapshot(syncTargetOf(want));
    else await this.resyncer.baseline(syncTargetOf(want));
    const now = new Date(this.now()).toISOString();
    const base: Omit<SubscriptionRecord, 'id' | 'expirationDateTime'> = {
      tenantId: want.tenantId,
      kind: want.kind.name,
      userId: want.target.userId ?? '',
      ...(want.target.folderId ? { folderId: want.target.folderId } : {}),
      ...(want.select ? { select: want.select } : {}),
      ...(want.expand ? { expand: want.expand } : {}),
      ...extra.record,
      ...(want.richRead ? { richRead: want.richRead } : {}),
      ...(want.sweepHours !== undefined ? { sweepHours: want.sweepHours } : {}),
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
    const marker = (ms: number): SubscriptionRecord => ({
      ...base,
      id: pendingId(clientState),
      expirationDateTime: body.expirationDateTime,
      pending: true,
      // Wall clock, as the receiver reads it (this.now may be Graph's simulated clock).
      pendingUntil: new Date(Date.now() + ms).toISOString(),
    });
    await this.store.put(marker(PENDING_CREATE_MS));
    let sub: GraphSubscription | 'conflict';
    try {
      sub = await this.api.create(want.tenantId, body);
    } catch (err) {
      await this.store.put(marker(0)).catch(() => undefined);
      throw err;
    }
    if (sub === 'conflict') {
      await this.store.put(marker(0));
      return 'conflict';
    }
    const record: SubscriptionRecord = { ...base, id: sub.id, expirationDateTime: sub.expirationDateTime };
    await this.store.put(record);
    // The marker is matched a little longer (a receiver that cached this id as unknown a moment ago must still
    // answer "retry" until its cache forgets), then not at all; a later run's audit deletes it.
    await this.store.put(marker(PENDING_AFTER_CREATE_MS));
    return record;
  }

  /** Renews `record` at Graph (moving it to the current certificate if its mode says so); 'gone' if Graph has none. */
  async renew(record: SubscriptionRecord, report: ReconcileReport): Promise<'gone' | 'renewed'> {
    const mode = this.wantOf(record).mode;
    const rotate = mode.rotation(record);
    const renewed = await this.api.renew(
      record.tenantId,
      record.id,
      this.expiration(this.wantOf(record).kind, record.resource, mode),
      rotate,
    );
    if (renewed === 'gone') return 'gone';
    const now = new Date(this.now()).toISOString();
    await this.store.put({
      ...record,
      ...(rotate ? { encryptionCertificateId: rotate.encryptionCertificateId } : {}),
      expirationDateTime: renewed.expirationDateTime,
      lastRenewedAt: now,
      updatedAt: now,
    });
    report.renewed.push(record.id);
    return 'renewed';
  }

  async remove(tenantId: string, id: string, report: ReconcileReport): Promise<void> {
    await this.api.delete(tenantId, id);
    await this.store.delete(id);
    report.deleted.push(id);
  }

  /** Replaces a subscription Graph no longer has, and resyncs what its gap may have missed within `deadline`. */
  async recreate(record: SubscriptionRecord, deadline: number): Promise<void> {
    const want = this.wantOf(record);
    await this.store.delete(record.id);
    await this.resyncer.markPending(syncTargetOf(want));
    const created = await this.create(want);
    const subscriptionId = created === 'conflict' ? record.id : created.id;
    const result = await this.resyncer.resync(syncTargetOf(want), subscriptionId, deadline);
    if (!result.complete) this.logger.info('resync continues with the next timer run', { resource: want.resource });
  }

  /** How long before expiry a subscription is renewed: the setting, but at most half the kind's lifetime. */
  renewWithinMs(kind: ResourceKind, mode: SubscriptionMode): number {
    return Math.min(this.settings.renewWithinMinutes, mode.maxLifetimeMinutes(kind) / 2) * 60_000;
  }

  /**
   * The lifetime asked for: the configured one within the kind's maximum, less up to a tenth of what lies beyond
   * the renewal margin, fixed per resource. Subscriptions created or renewed in one run (all of them, the first
   * time) then come due over hours instead of in the same minute, and each run renews a share.
   */
  private expiration(kind: ResourceKind, resource: string, mode: SubscriptionMode): string {
    const minutes = Math.min(this.settings.lifetimeMinutes, mode.maxLifetimeMinutes(kind));
    const spread = Math.max(0, minutes - this.renewWithinMs(kind, mode) / 60_000) * 0.1 * spreadOf(resource);
    return new Date(this.now() + (minutes - spread) * 60_000).toISOString();
  }
}
