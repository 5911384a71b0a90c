import type { SubscriptionSettings } from '../config/config.ts';
import { GraphRequestError, ProduceError } from '../errors.ts';
import type { EventFetcher } from '../graph/event-fetcher.ts';
import type { GraphClient, GraphResponse } from '../graph/graph-client.ts';
import { graphErrorCode, judgeNotFound } from '../graph/gone-rule.ts';
import { graphRequest, RETRYABLE_STATUSES } from '../graph/graph-reader.ts';
import type { FetchOutcome } from '../model/item-read.ts';
import type { EventProducer } from '../kafka/event-producer.ts';
import { itemIdOf, LISTING_MARGIN_MS, type DeltaScope, type ResourceKind, type Target } from '../kinds/index.ts';
import type { Logger } from '../logger.ts';
import { resyncRecords } from '../model/record.ts';
import type { SeriesRef, SeriesState } from '../series/series-types.ts';
import type { ExpansionWindow } from '../model/subscription.ts';
import { seriesCollection, seriesOwnerPrefix } from '../series/series-collections.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import type { MailboxSyncState, SyncRef } from './sync-types.ts';
import { fenceScope } from '../fence/fence-types.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { syncCollection, syncKey as syncKeyOf } from './sync-collection.ts';
import { forEachLimited } from './report.ts';

export interface ResyncResult {
  produced: number;
  complete: boolean;
}

/** What a resync brings up to date: one subscription's tenant, kind and target (mailbox, folder). */
export interface SyncTarget {
  tenantId: string;
  kind: ResourceKind;
  target: Target;
  select?: string | undefined;
  /** Events: the subscription's occurrence expansion (series changed during the gap are expanded again). */
  expand?: ExpansionWindow | undefined;
}

const PAGE = 'odata.maxpagesize=100';

/** A delta round that tracks only (baseline), produces changes (resync, sweep), or produces every item (snapshot). */
type WalkMode = 'baseline' | 'resync' | 'snapshot';
/** Series states read to know a mailbox's series (their occurrences and masters) during a resync. */
const MAX_KNOWN_SERIES = 10_000;

/**
 * One resync's view of a target's recurring series: the masters graph2kafka knows (from the series state),
 * whose occurrences those are, and the masters this resync has already read or produced.
 */
interface SeriesContext {
  masters: Set<string>;
  occurrenceOf: Map<string, string>;
  seen: Set<string>;
}
const MAX_ATTEMPTS = 8;
/** Listings of children (replies) read at once for one delta page. */
const CHILD_LISTINGS_AT_ONCE = 4;

type Page = { value: Record<string, unknown>[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };

/**
 * Catches a target up through the kind's delta query after changes may have been lost (missed, removed or
 * expired subscriptions): follows nextLink to the deltaLink in every delta scope (one, or each mail folder),
 * restarts a scope on 410, and produces every change as a `source: "resync"` record through the same sink and
 * format. Where the kind says a removal may be a move, the removed item is read before anything is
 * tombstoned. Progress is stored after each page, so a resync cut short by its deadline continues where it
 * stopped.
 */
export class Resyncer {
  private readonly graph: GraphClient;
  private readonly syncStates: Collection<MailboxSyncState, SyncRef>;
  private readonly series: Collection<SeriesState, SeriesRef>;
  private readonly events: EventProducer;
  private readonly settings: SubscriptionSettings;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly complete: EventFetcher['complete'];
  private readonly read: EventFetcher['fetchItem'] | undefined;
  private readonly metrics: Metrics | undefined;

  constructor(deps: {
    graph: GraphClient;
    store: DocumentStore;
    events: EventProducer;
    settings: SubscriptionSettings;
    logger: Logger;
    now?: () => number;
    /** Completes reads for their records: folder targets kept to their folder, relations read (the fetcher's). */
    complete?: EventFetcher['complete'];
    /** Reads one item for its record (the fetcher's): a series master that delta showed as its occurrences. */
    read?: EventFetcher['fetchItem'];
    metrics?: Metrics;
  }) {
    this.metrics = deps.metrics;
    this.read = deps.read;
    this.now = deps.now ?? Date.now;
    this.complete = deps.complete ?? ((_t, _k, _g, outcome) => Promise.resolve(outcome));
    this.graph = deps.graph;
    this.syncStates = new Collection(deps.store, syncCollection);
    this.series = new Collection(deps.store, seriesCollection);
    this.events = deps.events;
    this.settings = deps.settings;
    this.logger = deps.logger;
  }

  /** Starts tracking a target: one full delta round, not produced, whose deltaLinks later resyncs start from. */
  async baseline(t: SyncTarget): Promise<void> {
    const existing = await this.syncStates.get(ref(t));
    if (existing?.deltaLink || existing?.baselined || existing?.snapshotPending) return;
    await this.walk(t, '', Infinity, 'baseline');
  }

  /**
   * Starts a target with a snapshot: its existing items are produced (`source: "snapshot"`) by the timer's next
   * runs, through a full delta round whose progress is stored page by page (so it resumes across runs and
   * instances), and whose deltaLink later resyncs start from. A target already tracked keeps its state.
   */
  async startSnapshot(t: SyncTarget): Promise<void> {
    const existing = await this.syncStates.get(ref(t));
    if (existing?.deltaLink || existing?.baselined || existing?.snapshotPending) return;
    await this.syncStates.put({
      ...ref(t),
      deltaLink: undefined,
      resyncPending: false,
      snapshotPending: true,
      updatedAt: new Date().toISOString(),
    });
  }

  /** Produces a target's items again from a full delta round (`graph2kafka snapshot`), its progress forgotten. */
  async restartSnapshot(t: SyncTarget): Promise<void> {
    const own = syncKeyOf(ref(t));
    for (const state of await this.syncStates.list())
      if (syncKeyOf(withoutScope(state)) === own)
        await this.syncStates.put({
          ...state,
          deltaLink: undefined,
          snapshotItems: 0,
          ...(state.scope ? {} : { snapshotPending: true }),
        });
  }

  async markPending(t: SyncTarget): Promise<void> {
    const state = await this.syncStates.get(ref(t));
    await this.syncStates.put({
      ...ref(t),
      ...(state?.baselined ? { baselined: true } : {}),
      ...(state?.snapshotPending ? { snapshotPending: true } : {}),
      deltaLink: state?.deltaLink,
      resyncPending: true,
      updatedAt: new Date().toISOString(),
    });
  }

  async resync(t: SyncTarget, subscriptionId: string, deadline = Infinity): Promise<ResyncResult> {
    await this.markPending(t);
    return this.walk(t, subscriptionId, deadline, 'resync');
  }

  /** Continues (or starts) a target's snapshot until `deadline`; complete once its round reached a deltaLink. */
  async snapshot(t: SyncTarget, subscriptionId: string, deadline = Infinity): Promise<ResyncResult> {
    return this.walk(t, subscriptionId, deadline, 'snapshot');
  }

  /**
   * The periodic sweep: one delta round from the stored deltaLink, produced as a resync, so a change whose
   * notification Graph dropped without a `missed` reaches Kafka within the sweep's interval. When nothing
   * changed it costs one request per delta scope.
   */
  async sweep(t: SyncTarget, subscriptionId: string, deadline = Infinity): Promise<ResyncResult> {
    return this.walk(t, subscriptionId, deadline, 'resync');
  }

  private async walk(t: SyncTarget, subscriptionId: string, deadline: number, mode: WalkMode): Promise<ResyncResult> {
    const produce = mode !== 'baseline';
    const scopes = await this.scopes(t, deadline);
    const series = produce && t.kind.parentOf ? await this.knownSeries(t) : undefined;
    let produced = 0;
    for (const scope of scopes) {
      const result = await this.walkScope(t, scope, subscriptionId, deadline, mode, series);
      produced += result.produced;
      if (!result.complete) return { produced, complete: false };
    }
    if (series) produced += await this.checkUnseenMasters(t, subscriptionId, series, deadline);
    // The target's own state: its scope's link when it has a single unnamed scope, else only the flags.
    if (scopes.length !== 1 || scopes[0]!.scope !== '')
      await this.syncStates.put({
        ...ref(t),
        baselined: true,
        deltaLink: undefined,
        resyncPending: false,
        updatedAt: new Date().toISOString(),
      });
    return { produced, complete: true };
  }

  /** The kind's delta scopes for the target; for mailbox-wide messages, one per mail folder listed now. */
  private async scopes(t: SyncTarget, deadline: number): Promise<DeltaScope[]> {
    const scopes = t.kind.deltaScopes(t.target, {
      pastDays: this.settings.resyncPastDays,
      futureDays: this.settings.resyncFutureDays,
      now: this.now(),
      select: t.select,
    });
    if (Array.isArray(scopes)) return scopes;
    const folders: DeltaScope[] = [];
    for (let link: string | undefined = scopes.foldersPath; link;) {
      const page = (await this.get(t, link, deadline)).body as Page;
      for (const folder of page.value)
        if (folder['@removed'] === undefined && typeof folder.id === 'string') folders.push(scopes.scope(folder.id));
      link = page['@odata.nextLink'];
    }
    return folders;
  }

  private async walkScope(
    t: SyncTarget,
    scope: DeltaScope,
    subscriptionId: string,
    deadline: number,
    mode: WalkMode,
    series?: SeriesContext,
  ): Promise<ResyncResult> {
    const produce = mode !== 'baseline';
    const at = { ...ref(t), ...(scope.scope ? { scope: scope.scope } : {}) };
    if (scope.listing && !produce) {
      // A listing keeps no token: a baseline reads nothing, and keeps where the next round starts (the changes
      // from now, where the listing can be limited to them; else all of it).
      await this.syncStates.put({
        ...at,
        baselined: true,
        deltaLink: scope.since?.(listingFrom(this.now())),
        resyncPending: false,
        updatedAt: new Date().toISOString(),
      });
      return { produced: 0, complete: true };
    }
    const state = await this.syncStates.get(at);
    let link = state?.deltaLink ?? scope.initialPath;
    // Where the next listing round starts: from this round's beginning (kept while the round spans runs).
    const listedFrom = scope.since ? (state?.listedFrom ?? listingFrom(this.now())) : undefined;
    let produced = 0;
    let snapshotItems = state?.snapshotItems ?? 0;
    for (;;) {
      if (Date.now() >= deadline) return { produced, complete: false };
      // The fence's token before the page is read: a notification read that starts later wins over it.
      const token = produce ? await this.token(t) : 0;
      const res = await this.get(t, link, deadline, true);
      if (res.status === 410) {
        // The sync state is gone: a full round from the start, as Graph asks.
        this.logger.warn('delta token expired; full resync', { tenantId: t.tenantId, kind: t.kind.name, ...t.target });
        link = scope.initialPath;
        continue;
      }
      if (res.status === 404)
        throw new GraphRequestError(
          `delta of ${describe(t)}: Graph no longer has it (404 ${graphErrorCode(res.body) ?? ''}); remove it from the desired state`,
          404,
          graphErrorCode(res.body),
        );
      const page = res.body as Page;
      if (scope.keep) page.value = page.value.filter(scope.keep);
      const own = produce && series ? await this.toMasters(t, page.value, series, deadline) : page.value;
      const items = produce ? await this.withChildren(t, own, deadline) : own;
      if (produce && items.length) {
        const n = await this.produceItems(t, subscriptionId, items, deadline, token, mode);
        produced += n;
        if (mode === 'snapshot') snapshotItems += n;
      }
      // A listing ends with its last page (Graph gives it no deltaLink); the next round starts where `since` says,
      // or reads it all again.
      const done = page['@odata.deltaLink'] !== undefined || (scope.listing === true && !page['@odata.nextLink']);
      const next =
        page['@odata.nextLink'] ?? page['@odata.deltaLink'] ?? (listedFrom ? scope.since!(listedFrom) : undefined);
      const snapshotting = mode === 'snapshot' && scope.scope === '' && !done;
      await this.syncStates.put({
        ...at,
        deltaLink: next,
        resyncPending: scope.scope === '' && mode === 'resync' && !done,
        ...(snapshotting ? { snapshotPending: true } : {}),
        ...(mode === 'snapshot' ? { snapshotItems } : {}),
        ...(listedFrom && !done ? { listedFrom } : {}),
        updatedAt: new Date().toISOString(),
      } satisfies MailboxSyncState);
      if (done || !next) return { produced, complete: true };
      link = next;
    }
  }

  /**
   * Produces one page's items as resync (or snapshot) records; masters among them owe their series an expansion,
   * which the emit path's follow-ups mark.
   */
  private async produceItems(
    t: SyncTarget,
    subscriptionId: string,
    items: Record<string, unknown>[],
    deadline: number,
    token: number,
    mode: WalkMode,
  ): Promise<number> {
    const now = Date.now();
    const read = await this.confirmRemovals(t, items, deadline);
    // A removed part of a series (an occurrence moved out of the window) read back is its master's to settle:
    // no record is keyed by an occurrence outside the expansion.
    const part = items.map((_, i) => {
      const o = read[i];
      return o?.kind === 'found' && t.kind.parentOf?.(o.item) !== undefined;
    });
    items = items.filter((_, i) => !part[i]);
    const confirmed = read.filter((_, i) => !part[i]);
    if (!items.length) return 0;
    const records = items.map((item, i) =>
      resyncRecords(
        { tenantId: t.tenantId, kind: t.kind.name, target: t.target, subscriptionId },
        item,
        confirmed[i],
        now,
        mode === 'snapshot' ? 'snapshot' : 'resync',
      ),
    );
    // Each item gets its own verdict, as notifications do: an item too large for Kafka goes out reduced or
    // to the dead-letter topic, and never stops the resync; only a failure a retry can fix does.
    const results = await this.events.produce(
      records.map((r) => ({ records: r, notification: null, token, select: t.select })),
      now + 10_000,
    );
    const failed = results.find((r) => r.status === 'retry_later');
    if (failed) throw new ProduceError(`resync of ${describe(t)} could not produce: ${failed.reason}`);
    if (mode === 'snapshot') this.metrics?.snapshotProduced(t.kind.name, records.length);
    return items.length;
  }

  /**
   * The page's items and, for kinds whose delta leaves them out (a channel message's replies), the items under
   * each, listed now up to the kind's bound. A parent gone meanwhile has none.
   */
  private async withChildren(
    t: SyncTarget,
    items: Record<string, unknown>[],
    deadline: number,
  ): Promise<Record<string, unknown>[]> {
    const children = t.kind.children;
    if (!children) return items;
    const under: Record<string, unknown>[][] = [];
    await forEachLimited([...items.entries()], CHILD_LISTINGS_AT_ONCE, async ([i, item]) => {
      if (item['@removed'] !== undefined) return;
      const id = itemIdOf(t.kind, t.target, item);
      const found: Record<string, unknown>[] = [];
      for (let link: string | undefined = children.path(id); link && found.length < children.maxItems;) {
        const res = await this.get(t, link, deadline, true);
        if (res.status !== 200) break;
        const page = res.body as Page;
        found.push(...page.value.slice(0, children.maxItems - found.length));
        link = page['@odata.nextLink'];
      }
      under[i] = found;
    });
    return [...items, ...under.flatMap((c) => c ?? [])];
  }

  /** The series graph2kafka knows in the target's mailbox: masters, and their occurrences produced last. */
  private async knownSeries(t: SyncTarget): Promise<SeriesContext> {
    const context: SeriesContext = { masters: new Set(), occurrenceOf: new Map(), seen: new Set() };
    const userId = (t.target.userId ?? '').toLowerCase();
    for (const state of await this.series.list({
      prefix: seriesOwnerPrefix(t.tenantId, userId),
      limit: MAX_KNOWN_SERIES,
    })) {
      context.masters.add(state.masterId);
      for (const o of [...state.occurrences, ...(state.retired ?? [])]) context.occurrenceOf.set(o.id, state.masterId);
    }
    return context;
  }

  /**
   * calendarView/delta shows a series as its occurrences and exceptions; a notification names the master. So
   * that both paths give one stream, each series in the page becomes its master, read once per resync (gone: its
   * tombstone). A removed occurrence graph2kafka produced is its master's to settle (the expansion tombstones it).
   */
  private async toMasters(
    t: SyncTarget,
    items: Record<string, unknown>[],
    series: SeriesContext,
    deadline: number,
  ): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    const masters: string[] = [];
    const master = (id: string): void => {
      if (series.seen.has(id)) return;
      series.seen.add(id);
      masters.push(id);
    };
    for (const item of items) {
      const id = String(item.id);
      if (item['@removed'] !== undefined) {
        const of = series.occurrenceOf.get(id);
        if (of) master(of);
        else {
          if (series.masters.has(id)) series.seen.add(id);
          out.push(item);
        }
        continue;
      }
      const parent = t.kind.parentOf!(item);
      if (parent) master(parent);
      else out.push(item);
    }
    out.push(...(await this.readMasters(t, masters, deadline)));
    return out;
  }

  /** Masters as delta items: the master read now, or its removal when Graph no longer has it. */
  private async readMasters(t: SyncTarget, ids: string[], deadline: number): Promise<Record<string, unknown>[]> {
    if (!ids.length) return [];
    if (!this.read) throw new GraphRequestError(`resync of ${describe(t)}: no reader for series masters`);
    const read = this.read;
    const outcomes = await Promise.all(
      ids.map((id) => read(t.tenantId, t.kind, t.target, id, t.select ?? t.kind.defaultSelect, deadline)),
    );
    return outcomes.map((outcome, i) => {
      if (outcome.kind === 'found') return outcome.item;
      if (outcome.kind === 'gone') return { id: ids[i], '@removed': { reason: 'deleted' } };
      throw new GraphRequestError(`reading series master ${ids[i]} of ${describe(t)}: ${outcome.reason}`);
    });
  }

  /**
   * A series deleted while notifications were lost shows in delta only as removed occurrences, which may not
   * be the ones graph2kafka knows: every known master the resync did not meet is read, and tombstoned if gone.
   */
  private async checkUnseenMasters(
    t: SyncTarget,
    subscriptionId: string,
    series: SeriesContext,
    deadline: number,
  ): Promise<number> {
    const unseen = [...series.masters].filter((id) => !series.seen.has(id));
    let produced = 0;
    for (let i = 0; i < unseen.length; i += 100) {
      const token = await this.token(t);
      const items = (await this.readMasters(t, unseen.slice(i, i + 100), deadline)).filter(
        (item) => item['@removed'] !== undefined,
      );
      for (const item of items) series.seen.add(String(item.id));
      if (items.length) produced += await this.produceItems(t, subscriptionId, items, deadline, token, 'resync');
    }
    return produced;
  }

  /**
   * For kinds whose `@removed` may be a move (a message filed into another folder), what a read says now: the
   * item where it is, or gone (then it is tombstoned). Undefined where delta's word is enough.
   */
  private async confirmRemovals(
    t: SyncTarget,
    items: Record<string, unknown>[],
    deadline: number,
  ): Promise<Array<FetchOutcome | undefined>> {
    if (t.kind.removalMeansGone && !t.kind.relations?.length) return items.map(() => undefined);
    return Promise.all(
      items.map(async (item): Promise<FetchOutcome | undefined> => {
        if (item['@removed'] === undefined) {
          if (!t.kind.relations?.length) return undefined;
          // Delta's item lacks its relations (a group's members): read them, as a notification's record has.
          const completed = await this.complete(t.tenantId, t.kind, t.target, { kind: 'found', item }, deadline);
          if (completed.kind === 'failed')
            throw new GraphRequestError(
              `reading the relations of ${describe(t)} item ${String(item.id)}: ${completed.reason}`,
            );
          return completed;
        }
        if (t.kind.removalMeansGone) return undefined;
        const path = t.kind.readPath(t.target, String(item.id), t.select ?? t.kind.defaultSelect);
        const res = await this.get(t, path, deadline, true);
        if (res.status === 200)
          return this.complete(
            t.tenantId,
            t.kind,
            t.target,
            { kind: 'found', item: res.body as Record<string, unknown> },
            deadline,
          );
        if (judgeNotFound(res, t.kind.goneCodes) === 'gone') return { kind: 'gone' };
        throw new GraphRequestError(
          `reading removed ${t.kind.name} item of ${describe(t)} answered ${res.status}`,
          res.status,
          graphErrorCode(res.body),
        );
      }),
    );
  }

  private async token(t: SyncTarget): Promise<number> {
    const scope = fenceScope(t.tenantId, t.kind.name, t.target.userId);
    return (await this.events.observe([scope])).get(scope)!;
  }

  /** One GET, retried on 429/5xx after Retry-After; 410 (and 404 when `tolerate`) is the caller's to judge. */
  private async get(t: SyncTarget, path: string, deadline: number, tolerate = false): Promise<GraphResponse> {
    const res = await graphRequest(this.graph, t.tenantId, path, {
      deadline,
      maxAttempts: MAX_ATTEMPTS + 1,
      headers: { Prefer: `IdType="ImmutableId", ${PAGE}` },
    });
    if (RETRYABLE_STATUSES.has(res.status))
      throw new GraphRequestError(`delta for ${describe(t)} kept failing with ${res.status}`, res.status);
    if (res.status === 200 || res.status === 410 || (tolerate && res.status === 404)) return res;
    throw new GraphRequestError(
      `delta for ${describe(t)} answered ${res.status}`,
      res.status,
      graphErrorCode(res.body),
    );
  }
}

const withoutScope = ({ scope: _scope, ...target }: SyncRef): SyncRef => target;

/** The time a listing's next round reads the changes from: `at`, less the margin. */
const listingFrom = (at: number): string => new Date(at - LISTING_MARGIN_MS).toISOString();

/** A target as reports and errors name it: a mailbox (and folder), or a tenant (and channel or chat). */
export const describe = (t: SyncTarget): string =>
  t.kind.scope === 'tenant'
    ? `${t.kind.name} of tenant ${t.tenantId}${t.target.folderId ? ` (${t.target.folderId})` : ''}`
    : `${t.kind.name} of ${t.target.userId ?? t.tenantId}${t.target.folderId ? ` (folder ${t.target.folderId})` : ''}`;

/** The target's own sync state (scope empty). */
export function ref(t: SyncTarget): SyncRef {
  return {
    tenantId: t.tenantId,
    userId: t.target.userId ?? '',
    ...(t.kind.name !== 'events' ? { kind: t.kind.name } : {}),
    ...(t.target.folderId ? { folderId: t.target.folderId } : {}),
  };
}
