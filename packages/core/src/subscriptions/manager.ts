import { createHash, randomBytes } from 'node:crypto';
import type { Config, SubscriptionSettings } from '../config/config.ts';
import type { DesiredEntry } from '../config/desired-state.ts';
import { ITEM_ID } from '../kinds/mailbox-paths.ts';
import type { Logger } from '../logger.ts';
import type { LifecycleNotification } from '../receive/notification.ts';
import { KINDS, kindOf, type KindName, type ResourceKind, type Target } from '../kinds/index.ts';
import type { ExpansionWindow } from '../series/series-types.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import { pendingId, PENDING_AFTER_CREATE_MS, PENDING_CREATE_MS } from './pending-marker.ts';
import type { Subscriptions } from './subscription-cache.ts';
import type { SubscriptionRecord } from './subscription-types.ts';
import { syncCollection } from './sync-collection.ts';
import type { MailboxSyncState, SyncRef } from './sync-types.ts';
import { ref, type Resyncer, type SyncTarget } from './resync.ts';
import type { SubscriptionSnapshot } from '../metrics/metrics.ts';
import { subscriptionSnapshot } from '../metrics/subscription-snapshot.ts';
import type { GraphSubscription, NewSubscription, SubscriptionApi } from './subscription-api.ts';

export interface ReconcileReport {
  created: string[];
  renewed: string[];
  recreated: string[];
  deleted: string[];
  resynced: string[];
  /** Targets whose snapshot completed in this run. */
  snapshotted: string[];
  /** Targets the anti-entropy sweep brought up to date in this run. */
  swept: number;
  unchanged: number;
  /** Targets not looked at because the run's deadline came first; the next run takes them, most urgent first. */
  deferred: number;
  errors: string[];
  /** Tenants whose subscriptions could not be reconciled at all (consent revoked, say), with why. */
  skippedTenants: Array<{ tenantId: string; reason: string }>;
  /** Tenants whose Graph listing was read and acted on in this run. */
  audited: string[];
}

const emptyReport = (): ReconcileReport => ({
  created: [],
  renewed: [],
  recreated: [],
  deleted: [],
  resynced: [],
  snapshotted: [],
  swept: 0,
  unchanged: 0,
  deferred: 0,
  errors: [],
  skippedTenants: [],
  audited: [],
});

/** Graph asks not to PATCH and reauthorize one subscription within 10 minutes. */
const PATCH_REAUTH_GAP_MS = 10 * 60_000;
/** A `missed` within this long of a resync still under way adds nothing: that resync covers it. */
const MISSED_RESYNC_GAP_MS = 60_000;
/**
 * A `missed` within this long of the last one that ran a resync leaves its round to the timer: one round however
 * many came. A clientState holder's forged `missed` then costs one round per window, not one per POST.
 */
export const MISSED_COALESCE_MS = 10 * 60_000;
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

const sameUrl = (a: string | null | undefined, b: string): boolean =>
  !!a && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** How subscriptions are matched to wants: the resource, in any casing, without its leading slash. */
const resourceKey = (resource: string): string => resource.replace(/^\/+/, '').toLowerCase();

/** Whether a stored subscription watches the target of a sync state. */
const sameTarget = (r: SubscriptionRecord, s: MailboxSyncState): boolean =>
  kindOf(r) === KINDS[s.kind ?? 'events'] &&
  r.tenantId.toLowerCase() === s.tenantId.toLowerCase() &&
  r.userId.toLowerCase() === s.userId.toLowerCase() &&
  (r.folderId ?? '') === (s.folderId ?? '');

/** Mailboxes whose calendars are listed at once by a run. */
const CALENDAR_LISTINGS_AT_ONCE = 16;

/** Calendars subscribed per mailbox at most (`calendars: "all"`), as a desired-state list allows. */
const MAX_CALENDARS_PER_MAILBOX = 50;

/** Room mailbox ids kept per instance (address → object id never changes). */
const MAX_ROOM_IDS = 100_000;

/** Delta rounds run at once by one timer run (each is a few sequential Graph requests). */
const ROUNDS_AT_ONCE = 8;
type RoundMode = 'snapshot' | 'resync' | 'sweep';

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** A resource's fixed place in [0, 1): where in the spread its expirations fall. */
function spreadOf(resource: string): number {
  return createHash('sha256').update(resourceKey(resource)).digest().readUInt32BE(0) / 2 ** 32;
}

/** One subscription the desired state asks for: a kind's target in a tenant, with the entry's options. */
interface Want {
  tenantId: string;
  kind: ResourceKind;
  target: Target;
  resource: string;
  changeTypes: string;
  select: string | undefined;
  expand?: ExpansionWindow | undefined;
  /** Rich notifications: the subscription's resource carries its `$select`. */
  rich?: boolean;
  richRead?: string | undefined;
  /** A new target's existing items are produced (snapshot) rather than only tracked. */
  snapshot?: boolean;
  /** Hours between sweep rounds; 0 off. */
  sweepHours?: number | undefined;
}

/** A stored subscription's want (for recreating it as it was). */
function wantOf(record: SubscriptionRecord): Want {
  const kind = kindOf(record);
  const target: Target =
    kind.scope === 'tenant'
      ? {}
      : { userId: record.userId.toLowerCase(), ...(record.folderId ? { folderId: record.folderId } : {}) };
  return {
    tenantId: record.tenantId,
    kind,
    target,
    resource: kind.subscriptionResource(target),
    changeTypes: record.changeType,
    select: record.select,
    expand: record.expand,
    sweepHours: record.sweepHours,
    ...(record.mode === 'rich' ? { rich: true, resource: record.resource, richRead: record.richRead } : {}),
  };
}

const syncTargetOf = (w: Want): SyncTarget => ({
  tenantId: w.tenantId,
  kind: w.kind,
  target: w.target,
  select: w.select,
  expand: w.expand,
});

/**
 * Keeps the desired subscriptions alive, per (tenant, kind, target): creates missing ones (lifecycle URL,
 * immutable ids, a fresh clientState secret each), renews those expiring within the margin, recreates what
 * Graph removed (then resyncs the gap), deletes what is no longer wanted, and acts on lifecycle notifications.
 * A mailbox may have any number of subscriptions (events, messages per folder, contacts); each is matched by its
 * own resource, so one never replaces another. Tenants are reconciled in parallel and apart: one that fails
 * (consent revoked) is reported and skipped. Safe to run twice at once: Graph refuses a duplicate create (409),
 * and only records older than the run are treated as orphans.
 */
export class SubscriptionManager {
  private readonly config: Config;
  private readonly settings: SubscriptionSettings;
  private readonly api: SubscriptionApi;
  private readonly store: Subscriptions;
  private readonly syncStates: Collection<MailboxSyncState, SyncRef>;
  private readonly resyncer: Resyncer;
  private readonly logger: Logger;
  /** Room mailboxes' object ids by tenant and address (see `rooms`). */
  private readonly roomIds = new Map<string, string>();
  /** Graph's time: expirations are judged against it (tests pass graph-sim's simulated clock). */
  private readonly now: () => number;

  constructor(deps: {
    config: Config;
    settings: SubscriptionSettings;
    api: SubscriptionApi;
    store: Subscriptions;
    documents: DocumentStore;
    resyncer: Resyncer;
    logger: Logger;
    now?: () => number;
  }) {
    this.now = deps.now ?? Date.now;
    this.config = deps.config;
    this.settings = deps.settings;
    this.api = deps.api;
    this.store = deps.store;
    this.syncStates = new Collection(deps.documents, syncCollection);
    this.resyncer = deps.resyncer;
    this.logger = deps.logger;
  }

  /** The stored subscriptions by kind and state, judged on Graph's clock: what the timer's gauges report. */
  async snapshot(): Promise<SubscriptionSnapshot> {
    return subscriptionSnapshot(await this.store.list(), this.now(), this.settings.renewWithinMinutes * 60_000);
  }

  /** Every tenant there is work in: the desired state's, the home tenant, and any a stored record names. */
  private async tenants(stored?: SubscriptionRecord[]): Promise<string[]> {
    const records = stored ?? (await this.store.list());
    return [
      ...new Set([
        this.config.graph.homeTenantId,
        ...this.settings.desired.map((d) => d.tenantId),
        ...records.map((r) => r.tenantId.toLowerCase()),
      ]),
    ];
  }

  /**
   * One reconcile run. With a `deadline` (the timer's share of its run), no target is started after it: the
   * targets are taken most urgent first (missing, then soonest to expire by the store's record of Graph's
   * answers), so what a run leaves is what can wait, and the next run resumes from there — no progress needs
   * storing. Graph's own list is read as an audit (see `auditedTenants`), beside the renewals.
   */
  async reconcile(progress: (line: string) => void = () => undefined, deadline = Infinity): Promise<ReconcileReport> {
    const report = emptyReport();
    const startedAt = new Date(this.now()).toISOString();
    const all = await this.store.list();
    const tenants = await this.tenants(all);
    const audited = this.auditedTenants(tenants, all, deadline);
    await forEachLimited(tenants, TENANTS_AT_ONCE, async (tenantId) => {
      try {
        await this.reconcileTenant(tenantId, all, startedAt, report, progress, deadline, audited.has(tenantId));
      } catch (err) {
        const reason = (err as Error).message;
        report.skippedTenants.push({ tenantId, reason });
        report.errors.push(`tenant ${tenantId}: ${reason}`);
        this.logger.error('reconciling a tenant failed; the other tenants go on', { tenantId, error: reason });
      }
    });
    await this.resyncPending(report, deadline, all);
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
    const start = Math.floor(this.now() / AUDIT_ROTATION_MS) % Math.max(1, order.length);
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

  /** The desired state's subscriptions in one tenant: group members read now, one want per target. */
  private async wants(tenantId: string): Promise<Map<string, Want>> {
    const wants = new Map<string, Want>();
    for (const entry of this.settings.desired.filter((d) => d.tenantId === tenantId)) {
      const kind = KINDS[entry.kind];
      const members: string[] = [];
      for (const group of entry.groups) {
        try {
          members.push(...(await this.api.groupMembers(tenantId, group)));
        } catch (err) {
          // Without its members the group's mailboxes are kept as they are, not torn down.
          throw new Error(`${entry.source}: reading group ${group} failed: ${(err as Error).message}`, { cause: err });
        }
      }
      const rooms = entry.rooms ? await this.rooms(tenantId, entry) : [];
      const users = [...new Set([...entry.users, ...members, ...rooms].map((u) => u.toLowerCase()))];
      const targets: Target[] = [];
      if (kind.scope === 'tenant') targets.push({});
      else if (entry.calendars !== 'default') {
        // One listing per mailbox, several at once (a run over thousands of mailboxes would not fit its share
        // one by one); each mailbox's targets kept in the users' order.
        const perUser: Target[][] = [];
        await forEachLimited([...users.entries()], CALENDAR_LISTINGS_AT_ONCE, async ([i, userId]) => {
          perUser[i] = await this.calendarTargets(tenantId, userId, entry);
        });
        targets.push(...perUser.flat());
      } else
        for (const userId of users)
          targets.push(
            ...(entry.folders.length ? entry.folders.map((folderId) => ({ userId, folderId })) : [{ userId }]),
          );
      const rich = entry.mode === 'rich';
      // A rich subscription names what Graph sends in its resource (Graph requires a $select there).
      const richSelect = rich ? (entry.select ?? kind.rich!.defaultSelect) : undefined;
      for (const target of targets) {
        const resource = `${kind.subscriptionResource(target)}${richSelect ? `?$select=${richSelect}` : ''}`;
        const key = resourceKey(resource);
        if (wants.has(key)) continue;
        wants.set(key, {
          tenantId,
          kind,
          target,
          resource,
          changeTypes: entry.changeTypes.join(','),
          // Reads (of unproven items, repairs, resyncs) ask for what a rich record holds: the $select and richRead.
          select: richSelect ? [richSelect, entry.richRead].filter(Boolean).join(',') : entry.select,
          expand: entry.expandOccurrences,
          snapshot: entry.snapshot ?? this.settings.snapshot,
          sweepHours: entry.sweepHours ?? this.settings.sweepHours,
          ...(rich ? { rich, richRead: entry.richRead } : {}),
        });
      }
    }
    return wants;
  }

  /**
   * The room mailboxes an entry names, from the Places API at each run (a room added to the tenant or its list is
   * subscribed by the next run, one removed is unsubscribed). Places give addresses; a mailbox's object id is read
   * once per address and kept, since it never changes. A failed listing keeps the tenant as it is (as for groups).
   */
  private async rooms(tenantId: string, entry: DesiredEntry): Promise<string[]> {
    let addresses: string[];
    try {
      addresses = await this.api.roomAddresses(tenantId, entry.rooms!.list);
    } catch (err) {
      throw new Error(`${entry.source}: listing rooms failed: ${(err as Error).message}`, { cause: err });
    }
    const ids: string[] = [];
    for (const address of new Set(addresses)) {
      const key = `${tenantId}|${address}`;
      let id = this.roomIds.get(key);
      if (id === undefined) {
        try {
          id = await this.api.mailboxId(tenantId, address);
        } catch (err) {
          throw new Error(`${entry.source}: reading room ${address} failed: ${(err as Error).message}`, { cause: err });
        }
        // A place with no mailbox behind it (Graph's docs allow one) has no calendar to subscribe to.
        if (id === undefined) {
          this.logger.warn('a room of the Places API has no mailbox; left out', { tenantId, address });
          continue;
        }
        if (this.roomIds.size >= MAX_ROOM_IDS) this.roomIds.delete(this.roomIds.keys().next().value!);
        this.roomIds.set(key, id);
      }
      ids.push(id);
    }
    return ids;
  }

  /**
   * One target per calendar an events entry names in a mailbox: every calendar it has now (`all`), or those its
   * list names by id or by name (a name matches case-insensitively; one not found is left out and logged, and a
   * subscription to it is removed like any other target no longer wanted). A failed listing keeps the tenant as
   * it is, so a calendar is never unsubscribed because Graph did not answer.
   */
  private async calendarTargets(tenantId: string, userId: string, entry: DesiredEntry): Promise<Target[]> {
    let calendars: Array<{ id: string; name: string }>;
    try {
      calendars = await this.api.calendars(tenantId, userId);
    } catch (err) {
      throw new Error(`${entry.source}: listing the calendars of ${userId} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const wanted =
      entry.calendars === 'all'
        ? calendars
        : (entry.calendars as string[]).flatMap((ref) => {
            const found =
              calendars.find((c) => c.id === ref) ?? calendars.find((c) => c.name.toLowerCase() === ref.toLowerCase());
            if (!found) this.logger.warn('a calendar the desired state names was not found', { userId, calendar: ref });
            return found ? [found] : [];
          });
    // An id that is not one Graph's paths take is never put in a subscription resource.
    const ids = [...new Set(wanted.map((c) => c.id))].filter((id) => ITEM_ID.test(id));
    // Whoever owns a mailbox can add calendars to it; `all` must not let them spend the app's subscriptions (Graph
    // caps them per mailbox, across apps) or its renewal quota. The first ones Graph lists win.
    if (ids.length > MAX_CALENDARS_PER_MAILBOX)
      this.logger.warn('a mailbox has more calendars than graph2kafka subscribes to; the rest are left out', {
        userId,
        calendars: ids.length,
        subscribed: MAX_CALENDARS_PER_MAILBOX,
      });
    return ids.slice(0, MAX_CALENDARS_PER_MAILBOX).map((folderId) => ({ userId, folderId }));
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
    const wants = await this.wants(tenantId);
    await this.api.probe(tenantId);
    // The audit's listing runs beside the renewals: they draw on different quotas.
    const listing = audit ? this.api.listUntil(tenantId, deadline) : undefined;
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
        this.logger.error('reconciling a subscription failed', {
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
    const live = listed.filter((s) => sameUrl(s.notificationUrl, this.settings.notificationUrl));
    const liveIds = new Set(live.map((s) => s.id));
    const snapshot = new Map(inTenant.map((r) => [r.id, r]));
    // A create under way (here or in a parallel run) has a fresh pending marker; an old one is a crash's leftover.
    let budget = AUDIT_ACTIONS_PER_RUN;
    const act = (): boolean => budget-- > 0;
    const creating = new Set(
      inTenant
        .filter((r) => r.pending && this.now() - Date.parse(r.createdAt) < CREATE_UNDER_WAY_MS)
        .map((r) => resourceKey(r.resource)),
    );
    for (const sub of live) {
      const key = resourceKey(sub.resource);
      const want = wants.get(key);
      const record = snapshot.get(sub.id) ?? (await this.store.get(sub.id));
      if (!want) {
        if (act()) await this.remove(tenantId, sub.id, report);
        continue;
      }
      if (!record && !creating.has(key) && act()) {
        // Its notifications cannot be verified; changes meanwhile come back through delta.
        await this.api.delete(tenantId, sub.id);
        report.deleted.push(sub.id);
        await this.resyncer.markPending(syncTargetOf(want));
        continue;
      }
      // Graph says it ends sooner than the store believes (renewed elsewhere with a shorter lifetime, say).
      if (record && !record.pending && Date.parse(sub.expirationDateTime) < Date.parse(record.expirationDateTime))
        await this.store.put({ ...record, expirationDateTime: sub.expirationDateTime });
    }
    for (const record of inTenant) {
      if (liveIds.has(record.id) || record.createdAt >= startedAt) continue;
      if (!record.pending && !act()) continue;
      if (!(await this.store.get(record.id))) continue;
      await this.store.delete(record.id);
      if (record.pending) continue;
      const key = resourceKey(record.resource);
      const want = wants.get(key);
      const replaced = inTenant.some(
        (r) => r !== record && !r.pending && liveIds.has(r.id) && resourceKey(r.resource) === key,
      );
      if (!want || replaced) continue;
      const created = await this.create(want);
      if (created === 'conflict') continue;
      report.recreated.push(created.id);
      await this.resyncer.markPending(syncTargetOf(want));
    }
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
      const result = await this.api.reauthorize(record.tenantId, record.id);
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
      if ((await this.api.get(record.tenantId, record.id)) !== 'gone') {
        this.logger.warn('subscriptionRemoved for a subscription Graph still has; ignored', {
          subscriptionId: record.id,
        });
        return;
      }
      await this.recreate(record, deadline);
      return;
    }
    const want = wantOf(record);
    const sync = await this.syncStates.get(ref(syncTargetOf(want)));
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

  /** Renews every stored subscription now (ops: `graph2kafka subscriptions renew`). */
  async renewAll(progress: (line: string) => void = () => undefined): Promise<ReconcileReport> {
    const report = emptyReport();
    const records = (await this.store.list()).filter((r) => !r.pending);
    let done = 0;
    await forEachLimited(records, 32, async (record) => {
      try {
        const renewed = await this.api.renew(
          record.tenantId,
          record.id,
          this.expiration(kindOf(record), record.resource, record.mode === 'rich'),
          this.rotation(record),
        );
        if (renewed === 'gone') report.errors.push(`${record.id}: Graph no longer has it (run create to replace it)`);
        else await this.renewed(record, renewed, report);
      } catch (err) {
        report.errors.push(`${record.id}: ${(err as Error).message}`);
      }
      if (++done % 500 === 0) progress(`${done}/${records.length} renewed`);
    });
    return report;
  }

  /** Deletes one subscription, or all of this app's on the notification URL in every tenant (ops). */
  async deleteSubscriptions(target: { id: string } | { all: true }): Promise<ReconcileReport> {
    const report = emptyReport();
    if (!('all' in target)) {
      const record = await this.store.get(target.id);
      const tenantId = record?.tenantId ?? this.config.graph.homeTenantId;
      await this.remove(tenantId, target.id, report).catch((err: unknown) =>
        report.errors.push(`${target.id}: ${(err as Error).message}`),
      );
      return report;
    }
    for (const tenantId of await this.tenants()) {
      try {
        const ids = (await this.api.list(tenantId))
          .filter((s) => sameUrl(s.notificationUrl, this.settings.notificationUrl))
          .map((s) => s.id);
        for (const one of ids) {
          try {
            await this.remove(tenantId, one, report);
          } catch (err) {
            report.errors.push(`${one}: ${(err as Error).message}`);
          }
        }
      } catch (err) {
        report.skippedTenants.push({ tenantId, reason: (err as Error).message });
        report.errors.push(`tenant ${tenantId}: ${(err as Error).message}`);
      }
    }
    return report;
  }

  /** Resyncs every subscription of one mailbox now, or its events when it has none (ops); items produced. */
  async resyncMailbox(userId: string): Promise<number> {
    const records = (await this.store.list()).filter(
      (r) => !r.pending && r.userId.toLowerCase() === userId.toLowerCase(),
    );
    const wants = records.length
      ? records.map((r) => ({ want: wantOf(r), id: r.id }))
      : [
          {
            want: {
              tenantId: this.config.graph.homeTenantId,
              kind: KINDS.events,
              target: { userId: userId.toLowerCase() },
              resource: KINDS.events.subscriptionResource({ userId }),
              changeTypes: '',
              select: undefined,
            },
            id: '',
          },
        ];
    let produced = 0;
    for (const { want, id } of wants) produced += (await this.resyncer.resync(syncTargetOf(want), id)).produced;
    return produced;
  }

  /** This app's live subscriptions on the notification URL in every tenant, with whether their secret is held. */
  async listSubscriptions(): Promise<Array<GraphSubscription & { stored: boolean; tenantId: string }>> {
    const records = await this.store.list();
    const stored = new Set(records.filter((r) => !r.pending).map((r) => r.id));
    const out: Array<GraphSubscription & { stored: boolean; tenantId: string }> = [];
    for (const tenantId of await this.tenants(records)) {
      for (const s of await this.api.list(tenantId))
        if (sameUrl(s.notificationUrl, this.settings.notificationUrl))
          out.push({ ...s, stored: stored.has(s.id), tenantId });
    }
    return out;
  }

  /**
   * Delta rounds owed or due, within `deadline`: snapshots of new targets and resyncs owed (after missed or
   * removed subscriptions) first, then the anti-entropy sweep of the targets whose last round is older than
   * their interval, the longest-waiting first. A few targets at once; what the deadline leaves waits for the
   * next run, where it is still first in line.
   */
  async resyncPending(report?: ReconcileReport, deadline = Infinity, stored?: SubscriptionRecord[]): Promise<void> {
    const states = (await this.syncStates.list()).filter((s) => !s.scope);
    if (!states.length) return;
    let records = (stored ?? (await this.store.list())).filter((r) => !r.pending);
    // A snapshot owed by a target created in this very run: its record is newer than the run's listing.
    if (stored && states.some((s) => s.snapshotPending && !records.some((r) => sameTarget(r, s))))
      records = (await this.store.list()).filter((r) => !r.pending);
    const skipped = new Set(report?.skippedTenants.map((t) => t.tenantId.toLowerCase()) ?? []);
    const now = Date.now();
    const work: Array<{ state: MailboxSyncState; sub: SubscriptionRecord | undefined; mode: RoundMode }> = [];
    for (const state of states) {
      // A tenant this run could not reach (consent revoked) is left alone until it can be.
      if (skipped.has(state.tenantId.toLowerCase())) continue;
      const sub = records.find((r) => sameTarget(r, state));
      if (state.snapshotPending) {
        // A target no longer subscribed owes no snapshot.
        if (sub) work.push({ state, sub, mode: 'snapshot' });
      } else if (state.resyncPending) work.push({ state, sub, mode: 'resync' });
      else {
        const hours = sub?.sweepHours ?? this.settings.sweepHours;
        if (sub && hours > 0 && now - Date.parse(state.updatedAt) >= hours * 3_600_000)
          work.push({ state, sub, mode: 'sweep' });
      }
    }
    const order: Record<RoundMode, number> = { snapshot: 0, resync: 1, sweep: 2 };
    work.sort((a, b) => order[a.mode] - order[b.mode] || Date.parse(a.state.updatedAt) - Date.parse(b.state.updatedAt));
    await forEachLimited(work, ROUNDS_AT_ONCE, async ({ state, sub, mode }) => {
      if (Date.now() >= deadline) return;
      const kind = KINDS[state.kind ?? 'events'];
      const target = { userId: state.userId, ...(state.folderId ? { folderId: state.folderId } : {}) };
      const label = `${kind.name} of ${state.userId}${state.folderId ? ` (folder ${state.folderId})` : ''}`;
      const t: SyncTarget = { tenantId: state.tenantId, kind, target, select: sub?.select, expand: sub?.expand };
      try {
        const id = sub?.id ?? '';
        const result =
          mode === 'snapshot'
            ? await this.resyncer.snapshot(t, id, deadline)
            : mode === 'sweep'
              ? await this.resyncer.sweep(t, id, deadline)
              : await this.resyncer.resync(t, id, deadline);
        if (!result.complete) return;
        if (mode === 'snapshot') report?.snapshotted.push(label);
        else if (mode === 'sweep') {
          if (report) report.swept++;
        } else report?.resynced.push(kind.name === 'events' ? state.userId : label);
      } catch (err) {
        report?.errors.push(`${mode} ${label}: ${(err as Error).message}`);
      }
    });
  }

  /** Produces one target's items again from a full delta round now (`graph2kafka snapshot`); items produced. */
  async snapshotTarget(userId: string, kind: KindName): Promise<number> {
    let produced = 0;
    for (const record of await this.requestSnapshot(userId, kind)) {
      const result = await this.resyncer.snapshot(syncTargetOf(wantOf(record)), record.id);
      produced += result.produced;
    }
    return produced;
  }

  /** Owes one target a new snapshot, which the timer's runs produce; the subscriptions it concerns. */
  async requestSnapshot(userId: string, kind: KindName): Promise<SubscriptionRecord[]> {
    const records = (await this.store.list()).filter(
      (r) => !r.pending && kindOf(r).name === kind && r.userId.toLowerCase() === userId.toLowerCase(),
    );
    if (!records.length) throw new Error(`no ${kind} subscription of ${userId} is stored: nothing to snapshot`);
    for (const record of records) await this.resyncer.restartSnapshot(syncTargetOf(wantOf(record)));
    return records;
  }

  private async reconcileTarget(want: Want, records: SubscriptionRecord[], report: ReconcileReport): Promise<void> {
    // Two stored subscriptions of one resource (two runs that both created): the longest-lived one stays.
    const [keep, ...extras] = [...records].sort(
      (a, b) => Date.parse(b.expirationDateTime) - Date.parse(a.expirationDateTime),
    );
    for (const extra of extras) await this.remove(want.tenantId, extra.id, report);
    if (!keep) {
      const created = await this.create(want);
      if (created !== 'conflict') report.created.push(created.id);
      return;
    }
    const record = await this.withOptions(keep, want);
    const remainingMs = Date.parse(keep.expirationDateTime) - this.now();
    const margin = this.renewWithinMs(want.kind, !!want.rich);
    // A rotation does not wait for the renewal margin: the new certificate goes to every subscription now.
    const rotate = this.rotation(record);
    if (remainingMs > margin && !rotate) {
      report.unchanged++;
      return;
    }
    // Graph asks for 10 minutes between a reauthorize and a PATCH. The renewal waits for that only in the first
    // half of its window: reauthorizations can come about as often as timer runs, and a renewal that always
    // yields to them would only happen in a sub's last minutes, or not at all.
    const reauthorizedRecently =
      record.lastReauthorizedAt && this.now() - Date.parse(record.lastReauthorizedAt) < PATCH_REAUTH_GAP_MS;
    if (reauthorizedRecently && remainingMs > margin / 2) {
      report.unchanged++;
      return;
    }
    const renewed = await this.api.renew(
      want.tenantId,
      keep.id,
      this.expiration(want.kind, want.resource, !!want.rich),
      rotate,
    );
    if (renewed === 'gone') {
      await this.store.delete(keep.id);
      const created = await this.create(want);
      if (created !== 'conflict') {
        report.recreated.push(created.id);
        await this.resyncer.markPending(syncTargetOf(want));
      }
      return;
    }
    await this.renewed(
      rotate ? { ...record, encryptionCertificateId: rotate.encryptionCertificateId } : record,
      renewed,
      report,
    );
  }

  /** A rich subscription on a certificate other than the current one: what its renewal sends to rotate it. */
  private rotation(
    record: SubscriptionRecord,
  ): { encryptionCertificate: string; encryptionCertificateId: string } | undefined {
    const current = this.config.rich?.current;
    if (record.mode !== 'rich' || !current || record.encryptionCertificateId === current.id) return undefined;
    return { encryptionCertificate: current.certificate, encryptionCertificateId: current.id };
  }

  /** How long before expiry a subscription is renewed: the setting, but at most half the kind's lifetime. */
  private renewWithinMs(kind: ResourceKind, rich: boolean): number {
    const max = rich && kind.rich ? kind.rich.maxLifetimeMinutes : kind.maxLifetimeMinutes;
    return Math.min(this.settings.renewWithinMinutes, max / 2) * 60_000;
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
      updatedAt: new Date(this.now()).toISOString(),
    };
    await this.store.put(updated);
    return updated;
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
    const want = wantOf(record);
    await this.store.delete(record.id);
    await this.resyncer.markPending(syncTargetOf(want));
    const created = await this.create(want);
    const subscriptionId = created === 'conflict' ? record.id : created.id;
    const result = await this.resyncer.resync(syncTargetOf(want), subscriptionId, deadline);
    if (!result.complete) this.logger.info('resync continues with the next timer run', { resource: want.resource });
  }

  private async create(want: Want): Promise<SubscriptionRecord | 'conflict'> {
    const clientState = randomBytes(32).toString('base64url');
    const cert = want.rich ? this.config.rich?.current : undefined;
    if (want.rich && !cert)
      throw new Error(
        `${want.resource}: mode "rich" needs G2K_RICH_CERTIFICATE_ID, G2K_RICH_CERTIFICATE and G2K_RICH_PRIVATE_KEY`,
      );
    const body: NewSubscription = {
      changeType: want.changeTypes,
      notificationUrl: this.settings.notificationUrl,
      lifecycleNotificationUrl: this.settings.lifecycleNotificationUrl,
      resource: want.resource,
      expirationDateTime: this.expiration(want.kind, want.resource, !!want.rich),
      clientState,
      ...(cert
        ? { includeResourceData: true, encryptionCertificate: cert.certificate, encryptionCertificateId: cert.id }
        : {}),
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
      ...(cert ? { mode: 'rich' as const, encryptionCertificateId: cert.id } : {}),
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

  private async remove(tenantId: string, id: string, report: ReconcileReport): Promise<void> {
    await this.api.delete(tenantId, id);
    await this.store.delete(id);
    report.deleted.push(id);
  }

  /**
   * The lifetime asked for: the configured one within the kind's maximum, less up to a tenth of what lies beyond
   * the renewal margin, fixed per resource. Subscriptions created or renewed in one run (all of them, the first
   * time) then come due over hours instead of in the same minute, and each run renews a share.
   */
  private expiration(kind: ResourceKind, resource: string, rich = false): string {
    const max = rich && kind.rich ? kind.rich.maxLifetimeMinutes : kind.maxLifetimeMinutes;
    const minutes = Math.min(this.settings.lifetimeMinutes, max);
    const spread = Math.max(0, minutes - this.renewWithinMs(kind, rich) / 60_000) * 0.1 * spreadOf(resource);
    return new Date(this.now() + (minutes - spread) * 60_000).toISOString();
  }
}
