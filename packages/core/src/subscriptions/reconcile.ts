import type { SubscriptionContext } from './context.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import type { Planner } from './plan.ts';
import { emptyReport, forEachLimited, type ReconcileReport } from './report.ts';
import type { DeltaRounds } from './rounds.ts';
import type { GraphSubscription } from '../model/subscription.ts';
import { tenantsOf } from './tenants.ts';
import type { SubscriptionWrites } from './writes.ts';
import { resourceKey, sameUrl, syncTargetOf, type Want } from './want.ts';

/** Graph asks not to PATCH and reauthorize one subscription within 10 minutes. */
export const PATCH_REAUTH_GAP_MS = 10 * 60_000;
/**
 * Tenants reconciled at once; each is paced by its own throttles and all by the app's. Many at once: the app's
 * quota (2,000 writes per 20 s) is four tenants' worth (500 each), and tenants left to the end on their own
 * could not use it.
 */
const TENANTS_AT_ONCE = 64;
/** A pending marker this young belongs to a create still under way (Graph's handshake alone may take 10 s). */
const CREATE_UNDER_WAY_MS = 10 * 60_000;
/** Graph calls (deletes, recreates) one tenant's audit may make per run; what is over waits for its next audit. */
const AUDIT_ACTIONS_PER_RUN = 100;
/** How often the audits' rotation moves its starting tenant. */
const AUDIT_ROTATION_MS = 30 * 60_000;
/** Subscriptions per page of Graph's list, and the time a page costs at the app-wide list quota (40 per 20 s). */
const LIST_PAGE_SIZE = 100;
const LIST_PAGE_MS = 500;
/** The same for one tenant's listing alone (25 per 20 s). */
const TENANT_LIST_PAGE_MS = 800;

/**
 * Keeps the desired subscriptions alive, per (tenant, kind, target): creates missing ones, renews those expiring
 * within the margin, recreates what Graph removed (then resyncs the gap), deletes what is no longer wanted. A
 * mailbox may have any number of subscriptions (events, messages per folder, contacts); each is matched by its
 * own resource, so one never replaces another. Tenants are reconciled in parallel and apart: one that fails
 * (consent revoked) is reported and skipped. Safe to run twice at once: Graph refuses a duplicate create (409),
 * and only records older than the run are treated as orphans.
 */
export class Reconciler {
  private readonly ctx: SubscriptionContext;
  private readonly planner: Planner;
  private readonly writes: SubscriptionWrites;
  private readonly rounds: DeltaRounds;

  constructor(ctx: SubscriptionContext, planner: Planner, writes: SubscriptionWrites, rounds: DeltaRounds) {
    this.ctx = ctx;
    this.planner = planner;
    this.writes = writes;
    this.rounds = rounds;
  }

  /**
   * One reconcile run. With a `deadline` (the timer's share of its run), no target is started after it: the
   * targets are taken most urgent first (missing, then soonest to expire by the store's record of Graph's
   * answers), so what a run leaves is what can wait, and the next run resumes from there — no progress needs
   * storing. Graph's own list is read as an audit (see `auditedTenants`), beside the renewals.
   */
  async reconcile(progress: (line: string) => void = () => undefined, deadline = Infinity): Promise<ReconcileReport> {
    const report = emptyReport();
    const startedAt = new Date(this.ctx.now()).toISOString();
    const all = await this.ctx.store.list();
    const tenants = tenantsOf(this.ctx.config, this.ctx.settings, all);
    const audited = this.auditedTenants(tenants, all, deadline);
    await forEachLimited(tenants, TENANTS_AT_ONCE, async (tenantId) => {
      try {
        await this.reconcileTenant(tenantId, all, startedAt, report, progress, deadline, audited.has(tenantId));
      } catch (err) {
        const reason = (err as Error).message;
        report.skippedTenants.push({ tenantId, reason });
        report.errors.push(`tenant ${tenantId}: ${reason}`);
        this.ctx.logger.error('reconciling a tenant failed; the other tenants go on', { tenantId, error: reason });
      }
    });
    await this.rounds.run(report, deadline, all);
    progress(
      `created ${report.created.length}, renewed ${report.renewed.length}, recreated ${report.recreated.length}, deleted ${report.deleted.length}, resynced ${report.resynced.length}, snapshots completed ${report.snapshotted.length}, swept ${report.swept}, unchanged ${report.unchanged}, deferred ${report.deferred}, audited ${report.audited.length} of ${tenants.length} tenants, errors ${report.errors.length}${report.skippedTenants.length ? `, tenants skipped ${report.skippedTenants.length}` : ''}`,
    );
    return report;
  }

  /**
   * The tenants whose Graph listing this run reads. Renewals are driven by the store, so the list is an audit:
   * it finds subscriptions Graph dropped without a lifecycle notification, and ones whose secret is not held.
   * Listing is Graph's scarcest quota (25 pages of 100 per 20 s per tenant, 40 across the app's tenants): at
   * 300,000 subscriptions one pass over every tenant would take 25 minutes. So each run audits, in a rotation
   * whose starting tenant moves every half hour, as many tenants as their listing fits the run's time — all of
   * them at small sizes, every tenant within a few hours at large ones.
   */
  private auditedTenants(tenants: string[], all: SubscriptionRecord[], deadline: number): Set<string> {
    const perTenant = new Map<string, number>();
    for (const r of all) perTenant.set(r.tenantId.toLowerCase(), (perTenant.get(r.tenantId.toLowerCase()) ?? 0) + 1);
    const order = [...tenants].sort();
    const start = Math.floor(this.ctx.now() / AUDIT_ROTATION_MS) % Math.max(1, order.length);
    const rotated = [...order.slice(start), ...order.slice(0, start)];
    const budgetMs = Number.isFinite(deadline) ? Math.max(0, deadline - Date.now()) * 0.8 : Infinity;
    const audited = new Set<string>();
    let allPages = 0;
    let mostPages = 0;
    for (const tenantId of rotated) {
      const pages = Math.ceil(((perTenant.get(tenantId) ?? 0) + 1) / LIST_PAGE_SIZE);
      allPages += pages;
      mostPages = Math.max(mostPages, pages);
      // Listings run in parallel: as long as the app's quota for all of them, or one tenant's for the longest.
      const costMs = Math.max(allPages * LIST_PAGE_MS, mostPages * TENANT_LIST_PAGE_MS);
      // The first tenant of the rotation is always audited: its listing stops at the deadline if it must.
      if (audited.size && costMs > budgetMs) break;
      audited.add(tenantId);
    }
    return audited;
  }

  private async reconcileTenant(
    tenantId: string,
    all: SubscriptionRecord[],
    startedAt: string,
    report: ReconcileReport,
    progress: (line: string) => void,
    deadline: number,
    audit: boolean,
  ): Promise<void> {
    const inTenant = all.filter((r) => r.tenantId.toLowerCase() === tenantId);
    const byResource = new Map<string, SubscriptionRecord[]>();
    for (const r of inTenant) {
      if (r.pending) continue;
      const key = resourceKey(r.resource);
      byResource.set(key, [...(byResource.get(key) ?? []), r]);
    }
    const wants = await this.planner.wants(tenantId);
    await this.ctx.api.probe(tenantId);
    // The audit's listing runs beside the renewals: they draw on different quotas.
    const listing = audit ? this.ctx.api.listUntil(tenantId, deadline) : undefined;
    // A failed listing (consent revoked) fails the tenant, but only after the renewals had their chance.
    listing?.catch(() => undefined);
    progress(
      `tenant ${tenantId}: ${wants.size} subscriptions wanted, ${byResource.size} stored${audit ? ', auditing' : ''}`,
    );
    let done = 0;
    // Most urgent first: targets without a subscription, then the soonest to expire.
    const expiry = (key: string): number => {
      const records = byResource.get(key);
      return records?.length ? Math.min(...records.map((r) => Date.parse(r.expirationDateTime))) : 0;
    };
    const urgent = [...wants].map(([key, want]) => ({ key, want, at: expiry(key) })).sort((a, b) => a.at - b.at);
    await forEachLimited(urgent, 32, async ({ key, want }) => {
      if (Date.now() >= deadline) {
        report.deferred++;
        return;
      }
      try {
        await this.reconcileTarget(want, byResource.get(key) ?? [], report);
      } catch (err) {
        report.errors.push(`${want.resource}: ${(err as Error).message}`);
        this.ctx.logger.error('reconciling a subscription failed', {
          tenantId,
          resource: want.resource,
          error: (err as Error).message,
        });
      }
      if (++done % 500 === 0) progress(`tenant ${tenantId}: ${done}/${wants.size} reconciled`);
    });
    if (!listing) return;
    const live = await listing;
    if (live === 'incomplete') {
      progress(`tenant ${tenantId}: the audit's listing did not finish before the deadline; a later run audits it`);
      return;
    }
    // Applied even when the renewals used the run's whole share (a backlog would otherwise keep every audit
    // from counting), but with its Graph calls capped, so the run ends within seconds of its deadline.
    await this.applyAudit(tenantId, live, inTenant, wants, startedAt, report);
    report.audited.push(tenantId);
  }

  /**
   * What Graph's listing shows that the store does not know: subscriptions on our URL that are not wanted, or
   * whose secret is not held (deleted; a wanted one is then recreated by the next run and resynced), and
   * stored subscriptions Graph no longer has (recreated now, then resynced). Only what is older than this run
   * counts as missing: a parallel run may have just created what the listing could not show yet.
   */
  private async applyAudit(
    tenantId: string,
    listed: GraphSubscription[],
    inTenant: SubscriptionRecord[],
    wants: Map<string, Want>,
    startedAt: string,
    report: ReconcileReport,
  ): Promise<void> {
    const live = listed.filter((s) => sameUrl(s.notificationUrl, this.ctx.settings.notificationUrl));
    const liveIds = new Set(live.map((s) => s.id));
    const snapshot = new Map(inTenant.map((r) => [r.id, r]));
    // A create under way (here or in a parallel run) has a fresh pending marker; an old one is a crash's leftover.
    let budget = AUDIT_ACTIONS_PER_RUN;
    const act = (): boolean => budget-- > 0;
    const creating = new Set(
      inTenant
        .filter((r) => r.pending && this.ctx.now() - Date.parse(r.createdAt) < CREATE_UNDER_WAY_MS)
        .map((r) => resourceKey(r.resource)),
    );
    for (const sub of live) {
      const key = resourceKey(sub.resource);
      const want = wants.get(key);
      const record = snapshot.get(sub.id) ?? (await this.ctx.store.get(sub.id));
      if (!want) {
        if (act()) await this.writes.remove(tenantId, sub.id, report);
        continue;
      }
      if (!record && !creating.has(key) && act()) {
        // Its notifications cannot be verified; changes meanwhile come back through delta.
        await this.ctx.api.delete(tenantId, sub.id);
        report.deleted.push(sub.id);
        await this.ctx.resyncer.markPending(syncTargetOf(want));
        continue;
      }
      // Graph says it ends sooner than the store believes (renewed elsewhere with a shorter lifetime, say).
      if (record && !record.pending && Date.parse(sub.expirationDateTime) < Date.parse(record.expirationDateTime))
        await this.ctx.store.put({ ...record, expirationDateTime: sub.expirationDateTime });
    }
    for (const record of inTenant) {
      if (liveIds.has(record.id) || record.createdAt >= startedAt) continue;
      if (!record.pending && !act()) continue;
      if (!(await this.ctx.store.get(record.id))) continue;
      await this.ctx.store.delete(record.id);
      if (record.pending) continue;
      const key = resourceKey(record.resource);
      const want = wants.get(key);
      const replaced = inTenant.some(
        (r) => r !== record && !r.pending && liveIds.has(r.id) && resourceKey(r.resource) === key,
      );
      if (!want || replaced) continue;
      const created = await this.writes.create(want);
      if (created === 'conflict') continue;
      report.recreated.push(created.id);
      await this.ctx.resyncer.markPending(syncTargetOf(want));
    }
  }

  private async reconcileTarget(want: Want, records: SubscriptionRecord[], report: ReconcileReport): Promise<void> {
    // Two stored subscriptions of one resource (two runs that both created): the longest-lived one stays.
    const [keep, ...extras] = [...records].sort(
      (a, b) => Date.parse(b.expirationDateTime) - Date.parse(a.expirationDateTime),
    );
    for (const extra of extras) await this.writes.remove(want.tenantId, extra.id, report);
    if (!keep) {
      const created = await this.writes.create(want);
      if (created !== 'conflict') report.created.push(created.id);
      return;
    }
    const record = await this.withOptions(keep, want);
    const remainingMs = Date.parse(keep.expirationDateTime) - this.ctx.now();
    const margin = this.writes.renewWithinMs(want.kind, want.mode, record.lifecycleNotificationUrl);
    // A rotation does not wait for the renewal margin: the new certificate goes to every subscription now.
    const rotate = want.mode.rotation(record);
    if (remainingMs > margin && !rotate) {
      report.unchanged++;
      return;
    }
    // Graph asks for 10 minutes between a reauthorize and a PATCH. The renewal waits for that only in the first
    // half of its window: reauthorizations can come about as often as timer runs, and a renewal that always
    // yields to them would only happen in a sub's last minutes, or not at all.
    const reauthorizedRecently =
      record.lastReauthorizedAt && this.ctx.now() - Date.parse(record.lastReauthorizedAt) < PATCH_REAUTH_GAP_MS;
    if (reauthorizedRecently && remainingMs > margin / 2) {
      report.unchanged++;
      return;
    }
    if ((await this.writes.renew(record, report)) === 'gone') {
      await this.ctx.store.delete(keep.id);
      const created = await this.writes.create(want);
      if (created !== 'conflict') {
        report.recreated.push(created.id);
        await this.ctx.resyncer.markPending(syncTargetOf(want));
      }
    }
  }

  /**
   * The entry's read options (`select`, `expandOccurrences`) live on the stored subscription, which the receiver
   * reads: an edited entry takes effect with the next run, without replacing the subscription.
   */
  private async withOptions(record: SubscriptionRecord, want: Want): Promise<SubscriptionRecord> {
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    if (
      same(record.select, want.select) &&
      same(record.expand, want.expand) &&
      same(record.richRead, want.richRead) &&
      same(record.sweepHours, want.sweepHours)
    )
      return record;
    const { select: _s, expand: _e, richRead: _r, sweepHours: _h, ...rest } = record;
    const updated: SubscriptionRecord = {
      ...rest,
      ...(want.select ? { select: want.select } : {}),
      ...(want.expand ? { expand: want.expand } : {}),
      ...(want.richRead ? { richRead: want.richRead } : {}),
      ...(want.sweepHours !== undefined ? { sweepHours: want.sweepHours } : {}),
      updatedAt: new Date(this.ctx.now()).toISOString(),
    };
    await this.ctx.store.put(updated);
    return updated;
  }
}
