import type { SubscriptionContext } from './context.ts';
import { randomBytes } from 'node:crypto';
import type { ResourceKind } from '../kinds/index.ts';
import { pendingId, PENDING_AFTER_CREATE_MS, PENDING_CREATE_MS } from './pending-marker.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import type { SubscriptionMode } from '../model/subscription-mode.ts';
import type { ReconcileReport } from './report.ts';
import type { GraphSubscription, NewSubscription } from '../model/subscription.ts';
import { spreadOf, syncTargetOf, wantOf, type Want } from './want.ts';

/**
 * Every change graph2kafka makes to a subscription, at Graph and in the store together: creates (with the
 * pending marker that keeps Graph's first notification from being lost), renewals, removals and recreations.
 */
/** Below Graph's one hour for Teams subscriptions without a lifecycle URL, so a late clock is not refused. */
const LIFECYCLE_URL_MARGIN_MINUTES = 5;

export class SubscriptionWrites {
  private readonly ctx: SubscriptionContext;

  constructor(ctx: SubscriptionContext) {
    this.ctx = ctx;
  }

  /** A stored subscription's want, to recreate it as it was. */
  wantOf(record: SubscriptionRecord): Want {
    return wantOf(record, this.ctx.modes);
  }

  async create(want: Want): Promise<SubscriptionRecord | 'conflict'> {
    const clientState = randomBytes(32).toString('base64url');
    const extra = want.mode.createFields(want.resource);
    const body: NewSubscription = {
      changeType: want.changeTypes,
      notificationUrl: this.ctx.settings.notificationUrl,
      lifecycleNotificationUrl: this.ctx.settings.lifecycleNotificationUrl,
      resource: want.resource,
      expirationDateTime: this.expiration(
        want.kind,
        want.resource,
        want.mode,
        this.ctx.settings.lifecycleNotificationUrl,
      ),
      clientState,
      ...extra.body,
    };
    // A snapshot produces the target's items from a delta round the timer starts after the create (changes from
    // then on are notified, earlier ones are in the round). Without one, the target is tracked before the
    // subscription exists, so no change falls between the two.
    if (want.snapshot) await this.ctx.resyncer.startSnapshot(syncTargetOf(want));
    else await this.ctx.resyncer.baseline(syncTargetOf(want));
    const now = new Date(this.ctx.now()).toISOString();
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
      // Wall clock, as the receiver reads it (this.ctx.now may be Graph's simulated clock).
      pendingUntil: new Date(Date.now() + ms).toISOString(),
    });
    await this.ctx.store.put(marker(PENDING_CREATE_MS));
    let sub: GraphSubscription | 'conflict';
    try {
      sub = await this.ctx.api.create(want.tenantId, body);
    } catch (err) {
      await this.ctx.store.put(marker(0)).catch(() => undefined);
      throw err;
    }
    if (sub === 'conflict') {
      await this.ctx.store.put(marker(0));
      return 'conflict';
    }
    const record: SubscriptionRecord = { ...base, id: sub.id, expirationDateTime: sub.expirationDateTime };
    await this.ctx.store.put(record);
    // The marker is matched a little longer (a receiver that cached this id as unknown a moment ago must still
    // answer "retry" until its cache forgets), then not at all; a later run's audit deletes it.
    await this.ctx.store.put(marker(PENDING_AFTER_CREATE_MS));
    return record;
  }

  /** Renews `record` at Graph (moving it to the current certificate if its mode says so); 'gone' if Graph has none. */
  async renew(record: SubscriptionRecord, report: ReconcileReport): Promise<'gone' | 'renewed'> {
    const mode = this.wantOf(record).mode;
    const rotate = mode.rotation(record);
    const renewed = await this.ctx.api.renew(
      record.tenantId,
      record.id,
      this.expiration(this.wantOf(record).kind, record.resource, mode, record.lifecycleNotificationUrl),
      rotate,
    );
    if (renewed === 'gone') return 'gone';
    const now = new Date(this.ctx.now()).toISOString();
    await this.ctx.store.put({
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
    await this.ctx.api.delete(tenantId, id);
    await this.ctx.store.delete(id);
    report.deleted.push(id);
  }

  /** Replaces a subscription Graph no longer has, and resyncs what its gap may have missed within `deadline`. */
  async recreate(record: SubscriptionRecord, deadline: number): Promise<void> {
    const want = this.wantOf(record);
    await this.ctx.store.delete(record.id);
    await this.ctx.resyncer.markPending(syncTargetOf(want));
    const created = await this.create(want);
    const subscriptionId = created === 'conflict' ? record.id : created.id;
    const result = await this.ctx.resyncer.resync(syncTargetOf(want), subscriptionId, deadline);
    if (!result.complete) this.ctx.logger.info('resync continues with the next timer run', { resource: want.resource });
  }

  /** How long before expiry a subscription is renewed: the setting, but at most half the kind's lifetime. */
  renewWithinMs(kind: ResourceKind, mode: SubscriptionMode, lifecycleUrl?: string): number {
    return Math.min(this.ctx.settings.renewWithinMinutes, this.longest(kind, mode, lifecycleUrl) / 2) * 60_000;
  }

  /**
   * The longest lifetime Graph allows: the kind's (rich or basic), and for Teams without a lifecycle URL less
   * than an hour, with five minutes' margin for clock skew (Graph refuses the create or renewal otherwise).
   */
  private longest(kind: ResourceKind, mode: SubscriptionMode, lifecycleUrl: string | undefined): number {
    const max = mode.maxLifetimeMinutes(kind);
    const bare = kind.withoutLifecycleUrlMinutes;
    return bare !== undefined && !lifecycleUrl ? Math.min(max, bare - LIFECYCLE_URL_MARGIN_MINUTES) : max;
  }

  /**
   * The lifetime asked for: the configured one within the kind's maximum, less up to a tenth of what lies beyond
   * the renewal margin, fixed per resource. Subscriptions created or renewed in one run (all of them, the first
   * time) then come due over hours instead of in the same minute, and each run renews a share.
   */
  private expiration(
    kind: ResourceKind,
    resource: string,
    mode: SubscriptionMode,
    lifecycleUrl: string | undefined,
  ): string {
    const minutes = Math.min(this.ctx.settings.lifetimeMinutes, this.longest(kind, mode, lifecycleUrl));
    const spread =
      Math.max(0, minutes - this.renewWithinMs(kind, mode, lifecycleUrl) / 60_000) * 0.1 * spreadOf(resource);
    return new Date(this.ctx.now() + (minutes - spread) * 60_000).toISOString();
  }
}
