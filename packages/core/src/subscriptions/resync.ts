import type { SubscriptionSettings } from '../config/config.ts';
import { GraphRequestError, ProduceError } from '../errors.ts';
import type { EventFetcher, FetchOutcome } from '../graph/event-fetcher.ts';
import { retryAfterMs, type GraphClient, type GraphResponse } from '../graph/graph-client.ts';
import type { EventProducer } from '../kafka/event-producer.ts';
import type { DeltaScope, ResourceKind, Target } from '../kinds/index.ts';
import type { Logger } from '../logger.ts';
import { resyncRecords } from '../record.ts';
import type { MailboxSyncState, SubscriptionStore, SyncRef } from '../state/subscription-store.ts';

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
}

const PAGE = 'odata.maxpagesize=100';
const MAX_ATTEMPTS = 8;

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
  private readonly store: SubscriptionStore;
  private readonly events: EventProducer;
  private readonly settings: SubscriptionSettings;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly complete: EventFetcher['complete'];

  constructor(deps: {
    graph: GraphClient;
    store: SubscriptionStore;
    events: EventProducer;
    settings: SubscriptionSettings;
    logger: Logger;
    now?: () => number;
    /** Completes reads for their records: folder targets kept to their folder, relations read (the fetcher's). */
    complete?: EventFetcher['complete'];
  }) {
    this.now = deps.now ?? Date.now;
    this.complete = deps.complete ?? ((_t, _k, _g, outcome) => Promise.resolve(outcome));
    this.graph = deps.graph;
    this.store = deps.store;
    this.events = deps.events;
    this.settings = deps.settings;
    this.logger = deps.logger;
  }

  /** Starts tracking a target: one full delta round, not produced, whose deltaLinks later resyncs start from. */
  async baseline(t: SyncTarget): Promise<void> {
    const existing = await this.store.getSync(ref(t));
    if (existing?.deltaLink || existing?.baselined) return;
    await this.walk(t, '', Infinity, false);
  }

  async markPending(t: SyncTarget): Promise<void> {
    const state = await this.store.getSync(ref(t));
    await this.store.putSync({
      ...ref(t),
      ...(state?.baselined ? { baselined: true } : {}),
      deltaLink: state?.deltaLink,
      resyncPending: true,
      updatedAt: new Date().toISOString(),
    });
  }

  async resync(t: SyncTarget, subscriptionId: string, deadline = Infinity): Promise<ResyncResult> {
    await this.markPending(t);
    return this.walk(t, subscriptionId, deadline, true);
  }

  private async walk(t: SyncTarget, subscriptionId: string, deadline: number, produce: boolean): Promise<ResyncResult> {
    const scopes = await this.scopes(t, deadline);
    let produced = 0;
    for (const scope of scopes) {
      const result = await this.walkScope(t, scope, subscriptionId, deadline, produce);
      produced += result.produced;
      if (!result.complete) return { produced, complete: false };
    }
    // The target's own state: its scope's link when it has a single unnamed scope, else only the flags.
    if (scopes.length !== 1 || scopes[0]!.scope !== '')
      await this.store.putSync({
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
    produce: boolean,
  ): Promise<ResyncResult> {
    const at = { ...ref(t), ...(scope.scope ? { scope: scope.scope } : {}) };
    const state = await this.store.getSync(at);
    let link = state?.deltaLink ?? scope.initialPath;
    let produced = 0;
    for (;;) {
      if (Date.now() >= deadline) return { produced, complete: false };
      const res = await this.get(t, link, deadline, true);
      if (res.status === 410) {
        // The sync state is gone: a full round from the start, as Graph asks.
        this.logger.warn('delta token expired; full resync', { tenantId: t.tenantId, kind: t.kind.name, ...t.target });
        link = scope.initialPath;
        continue;
      }
      const page = res.body as Page;
      if (produce && page.value.length) {
        const now = Date.now();
        const confirmed = await this.confirmRemovals(t, page.value, deadline);
        // Each item gets its own verdict, as notifications do: an item too large for Kafka goes out reduced or
        // to the dead-letter topic, and never stops the resync; only a failure a retry can fix does.
        const results = await this.events.produce(
          page.value.map((item, i) => ({
            records: resyncRecords(
              { tenantId: t.tenantId, kind: t.kind.name, target: t.target, subscriptionId },
              item,
              confirmed[i],
              now,
            ),
            notification: null,
          })),
          now + 10_000,
        );
        const failed = results.find((r) => r.status === 'retry_later');
        if (failed) throw new ProduceError(`resync of ${describe(t)} could not produce: ${failed.reason}`);
        produced += page.value.length;
      }
      const next = page['@odata.nextLink'] ?? page['@odata.deltaLink'];
      const done = page['@odata.deltaLink'] !== undefined;
      await this.store.putSync({
        ...at,
        deltaLink: next,
        resyncPending: scope.scope === '' && produce && !done,
        updatedAt: new Date().toISOString(),
      } satisfies MailboxSyncState);
      if (done || !next) return { produced, complete: true };
      link = next;
    }
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
        const code = errorCode(res);
        if (res.status === 404 && code && t.kind.goneCodes.includes(code)) return { kind: 'gone' };
        throw new GraphRequestError(
          `reading removed ${t.kind.name} item of ${describe(t)} answered ${res.status}`,
          res.status,
          code,
        );
      }),
    );
  }

  /** One GET, retried on 429/5xx after Retry-After; 410 (and 404 when `tolerate`) is the caller's to judge. */
  private async get(t: SyncTarget, path: string, deadline: number, tolerate = false): Promise<GraphResponse> {
    for (let attempt = 0; ;) {
      const res = await this.graph.call(t.tenantId, 'GET', path, {
        headers: { Prefer: `IdType="ImmutableId", ${PAGE}` },
        timeoutMs: Math.min(30_000, Math.max(1_000, deadline - Date.now())),
      });
      if (res.status === 429 || res.status >= 500) {
        if (++attempt > MAX_ATTEMPTS)
          throw new GraphRequestError(`delta for ${describe(t)} kept failing with ${res.status}`, res.status);
        await new Promise((r) => setTimeout(r, retryAfterMs(res.headers['retry-after']) ?? 500 * 2 ** attempt));
        continue;
      }
      if (res.status === 200 || res.status === 410 || (tolerate && res.status === 404)) return res;
      throw new GraphRequestError(`delta for ${describe(t)} answered ${res.status}`, res.status, errorCode(res));
    }
  }
}

const errorCode = (res: GraphResponse): string | undefined =>
  (res.body as { error?: { code?: string } } | undefined)?.error?.code;

const describe = (t: SyncTarget): string =>
  `${t.kind.name} of ${t.target.userId ?? t.tenantId}${t.target.folderId ? ` (folder ${t.target.folderId})` : ''}`;

/** The target's own sync state (scope empty). */
export function ref(t: SyncTarget): SyncRef {
  return {
    tenantId: t.tenantId,
    userId: t.target.userId ?? '',
    ...(t.kind.name !== 'events' ? { kind: t.kind.name } : {}),
    ...(t.target.folderId ? { folderId: t.target.folderId } : {}),
  };
}
