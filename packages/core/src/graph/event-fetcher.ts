import { GraphRequestError, TokenError } from '../errors.ts';
import type { ResourceKind } from '../kinds/index.ts';
import type { Logger } from '../logger.ts';
import type { Target } from '../kinds/index.ts';
import type { FetchOutcome } from '../model/item-read.ts';
import { LONGEST_READ_MS } from '../model/budget.ts';
import { FolderScope, type Coverage } from './folder-scope.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { retryAfterMs, type BatchItemResponse, type GraphClient } from './graph-client.ts';
import { RETRYABLE_STATUSES } from './graph-reader.ts';
import { graphErrorCode, judgeNotFound } from './gone-rule.ts';

interface Pending {
  key: string;
  tenantId: string;
  path: string;
  goneCodes: readonly string[];
  deadline: number;
  attempts: number;
  lastFailure: string;
  queuedAt: number;
  waiters: Waiter[];
}

/** One caller of a read; several share a queued read, each keeps its own deadline. */
interface Waiter {
  /** The read it waits on (the one it was merged into, if any): its last failure is this caller's reason. */
  item: Pending;
  settle(outcome: FetchOutcome): void;
}

export interface FetcherStats {
  graphRequests: number;
  itemsRequested: number;
  itemRetries: number;
}

const MAX_BATCH = 20;

/**
 * A nextLink as a path below Graph's version root, which is what `$batch` takes. Only the path and query are
 * kept, so a page link can never send a request (and its token) anywhere but Graph.
 */
function graphPath(link: string): string | undefined {
  try {
    const url = new URL(link);
    return `${url.pathname.replace(/^\/(v1\.0|beta)(?=\/)/, '')}${url.search}`;
  } catch {
    return undefined;
  }
}

/**
 * Reads changed items (of any kind) through `$batch`, coalescing reads from concurrent notification POSTs into shared
 * batches of up to 20 (one Graph request serves many notifications), deduplicating reads of the same item,
 * honouring per-item and whole-request 429/503 with Retry-After, and giving up on an item once waiting would
 * overrun its deadline.
 */
export class EventFetcher {
  readonly stats: FetcherStats = { graphRequests: 0, itemsRequested: 0, itemRetries: 0 };
  private readonly graph: GraphClient;
  private readonly maxInFlight: number;
  private readonly lingerMs: number;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly queues = new Map<string, Pending[]>();
  private readonly byKey = new Map<string, Pending>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly folders: FolderScope;

  constructor(
    graph: GraphClient,
    options: { maxInFlight: number; lingerMs?: number; logger: Logger; coverage?: Coverage; metrics?: Metrics },
  ) {
    this.folders = new FolderScope(
      (tenantId, kind, path, deadline) => this.fetch(tenantId, kind, path, deadline),
      options.coverage,
    );
    this.graph = graph;
    this.maxInFlight = options.maxInFlight;
    this.lingerMs = options.lingerMs ?? 40;
    this.logger = options.logger;
    this.metrics = options.metrics;
  }

  /**
   * Reads one item of a target, kept to the target's folder where it has one: what every path that turns a
   * read into a record (notification, repair, replay, resync) uses.
   */
  async fetchItem(
    tenantId: string,
    kind: ResourceKind,
    target: Target,
    itemId: string,
    select: string | undefined,
    deadline: number,
    relationPages = Infinity,
  ): Promise<FetchOutcome> {
    const outcome = await this.fetch(tenantId, kind, kind.readPath(target, itemId, select), deadline);
    // Where the item itself says where it is (a Teams message's channel, chat and root), it must be the item the
    // id named: another spelling of the id (a reply named as a top-level message, another casing) would make a
    // second key for one message. No item under this id, then: its key ends in a tombstone.
    if (outcome.kind === 'found' && kind.itemIdOf && kind.itemIdOf(target, outcome.item) !== itemId) {
      this.logger.warn('a read answered with another item than the one its id named; taken as gone', {
        kind: kind.name,
      });
      return { kind: 'gone' };
    }
    return this.complete(tenantId, kind, target, outcome, deadline, relationPages);
  }

  /** A read completed for its record: kept to the target's folder, then its relations read onto it. */
  async complete(
    tenantId: string,
    kind: ResourceKind,
    target: Target,
    outcome: FetchOutcome,
    deadline: number,
    relationPages = Infinity,
  ): Promise<FetchOutcome> {
    const confined = await this.folders.confine(tenantId, kind, target, outcome, deadline);
    const selected = await this.withSelectedOnly(tenantId, kind, target, confined, deadline);
    return this.expand(tenantId, kind, selected, deadline, relationPages);
  }

  /** The item with the properties Graph returns only when selected (see ResourceKind.selectedOnly). */
  private async withSelectedOnly(
    tenantId: string,
    kind: ResourceKind,
    target: Target,
    outcome: FetchOutcome,
    deadline: number,
  ): Promise<FetchOutcome> {
    const extra = kind.selectedOnly;
    if (outcome.kind !== 'found' || outcome.outside || !extra || !extra.applies(outcome.item)) return outcome;
    if (extra.select.split(',').every((name) => name in outcome.item)) return outcome;
    return this.withProperties(tenantId, kind, target, outcome, extra.select, deadline);
  }

  /**
   * A found item with `select`'s properties read onto it by a second read (null where Graph has none): the
   * properties Graph returns only when selected, or a rich item's `richRead`. Gone between the two reads: the
   * item is gone; not read in time: failed, and the record waits for a repair.
   */
  async withProperties(
    tenantId: string,
    kind: ResourceKind,
    target: Target,
    outcome: FetchOutcome,
    select: string,
    deadline: number,
  ): Promise<FetchOutcome> {
    if (outcome.kind !== 'found') return outcome;
    const read = await this.fetch(tenantId, kind, kind.readPath(target, String(outcome.item.id), select), deadline);
    if (read.kind !== 'found') return read.kind === 'gone' ? read : { kind: 'failed', reason: read.reason };
    const item = { ...outcome.item };
    for (const name of select.split(',')) item[name] = read.item[name] ?? null;
    return { ...outcome, item };
  }

  /** The item with its kind's relations read onto it, page by page through `$batch` (see ResourceKind.relations). */
  private async expand(
    tenantId: string,
    kind: ResourceKind,
    outcome: FetchOutcome,
    deadline: number,
    relationPages: number,
  ): Promise<FetchOutcome> {
    if (outcome.kind !== 'found' || outcome.outside || !kind.relations?.length) return outcome;
    const item = { ...outcome.item };
    const omitted = [...(outcome.omitted ?? [])];
    for (const relation of kind.relations) {
      const entries: Array<Record<string, unknown>> = [];
      let next: string | undefined = relation.path(String(item.id));
      let pages = 0;
      while (next && entries.length <= relation.maxItems) {
        // Past the caller's page budget (a notification's, bounded per POST): the repair reads the rest.
        if (pages++ >= relationPages) return { kind: 'failed', reason: 'relation_deferred' };
        const page = await this.fetch(tenantId, kind, next, deadline);
        // Gone between the two reads: the item is gone; not read in time: the record waits for a repair.
        if (page.kind !== 'found') return page.kind === 'gone' ? page : { kind: 'failed', reason: page.reason };
        const body = page.item as { value?: unknown[]; '@odata.nextLink'?: unknown };
        for (const entry of body.value ?? []) {
          const e = entry as Record<string, unknown>;
          entries.push({ id: e.id, ...(e['@odata.type'] ? { '@odata.type': e['@odata.type'] } : {}) });
        }
        next = typeof body['@odata.nextLink'] === 'string' ? graphPath(body['@odata.nextLink']) : undefined;
      }
      if (entries.length > relation.maxItems) omitted.push(relation.property);
      else item[relation.property] = entries;
    }
    return { kind: 'found', item, ...(omitted.length ? { omitted } : {}) };
  }

  /** Reads `path` (the kind's read path of one item) in `tenantId`; the kind says which 404 means gone. */
  fetch(tenantId: string, kind: ResourceKind, path: string, deadline: number): Promise<FetchOutcome> {
    const key = `${tenantId}|${path}`;
    // A caller without a deadline (a timer's resync) still gets an answer: no read waits longer than this.
    deadline = Math.min(deadline, Date.now() + LONGEST_READ_MS);
    return new Promise((resolve) => {
      const item: Pending = {
        key,
        tenantId,
        path,
        goneCodes: kind.goneCodes,
        deadline,
        attempts: 0,
        lastFailure: 'budget_exhausted',
        queuedAt: 0,
        waiters: [],
      };
      let done = false;
      const waiter: Waiter = {
        item,
        settle: (outcome) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(outcome);
        },
      };
      // A read shared with a caller that may wait longer (a repair, 10 s) retries on that caller's deadline;
      // this caller (Graph waiting on its answer) still gets its answer at its own.
      const timer = setTimeout(
        () => waiter.settle({ kind: 'failed', reason: waiter.item.lastFailure }),
        Math.max(0, deadline - Date.now()),
      );
      item.waiters.push(waiter);
      this.enqueue(item);
    });
  }

  /**
   * Reads of one item that are still queued share one batch entry. A read already sent is not shared: it may have
   * left before the change a newer notification reports.
   */
  private enqueue(item: Pending): void {
    const queued = this.byKey.get(item.key);
    if (queued) {
      for (const w of item.waiters) w.item = queued;
      queued.waiters.push(...item.waiters);
      queued.deadline = Math.max(queued.deadline, item.deadline);
      return;
    }
    this.byKey.set(item.key, item);
    item.queuedAt = Date.now();
    const queue = this.queues.get(item.tenantId) ?? [];
    queue.push(item);
    this.queues.set(item.tenantId, queue);
    this.flush();
  }

  /**
   * Sends full batches at once and a partial one only when its oldest read has waited `lingerMs`, within the
   * limit of batches in flight. What stays queued waits for the linger timer or for a batch to finish.
   */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    let nextDue = Infinity;
    for (const [tenantId, queue] of this.queues) {
      while (queue.length && this.inFlight < this.maxInFlight) {
        const due = queue[0]!.queuedAt + this.lingerMs;
        if (queue.length < MAX_BATCH && due > now) {
          nextDue = Math.min(nextDue, due);
          break;
        }
        const items = queue.splice(0, MAX_BATCH).filter((item) => {
          if (item.deadline > now) return true;
          this.finish(item, { kind: 'failed', reason: item.lastFailure });
          return false;
        });
        if (items.length) void this.send(tenantId, items);
      }
      if (!queue.length) this.queues.delete(tenantId);
    }
    if (nextDue !== Infinity) this.timer = setTimeout(() => this.flush(), nextDue - now);
  }

  private async send(tenantId: string, items: Pending[]): Promise<void> {
    for (const item of items) this.byKey.delete(item.key);
    this.inFlight++;
    this.stats.graphRequests++;
    this.stats.itemsRequested += items.length;
    const timeoutMs = Math.max(...items.map((i) => i.deadline)) - Date.now();
    // Until the token is there, a caller whose deadline passes was waiting for Entra ID, not for Graph.
    const before = items.map((item) => item.lastFailure);
    for (const item of items) item.lastFailure = 'token_unavailable';
    const tokenReady = (): void => items.forEach((item, i) => (item.lastFailure = before[i]!));
    try {
      const responses = await this.graph.batch(
        tenantId,
        items.map((item, i) => ({
          id: String(i + 1),
          method: 'GET' as const,
          url: item.path,
          headers: { Prefer: 'IdType="ImmutableId"' },
        })),
        timeoutMs,
        tokenReady,
      );
      const byId = new Map(responses.map((r) => [r.id, r]));
      items.forEach((item, i) => this.settleItem(item, byId.get(String(i + 1))));
    } catch (err) {
      if (err instanceof TokenError) {
        this.logger.error('Graph token unavailable; notifications go out unenriched', { tenantId, error: err.message });
        for (const item of items) this.finish(item, { kind: 'failed', reason: 'token_unavailable' });
      } else if (err instanceof GraphRequestError && (err.status === 401 || err.status === 403)) {
        this.logger.error('Graph refused access; notifications go out unenriched', {
          tenantId,
          status: err.status,
          code: err.code,
        });
        for (const item of items) this.finish(item, { kind: 'failed', reason: 'graph_access_denied' });
      } else {
        const e = err as GraphRequestError;
        const reason = e.status === 429 ? 'throttled' : 'graph_unavailable';
        for (const item of items) this.retry(item, reason, e.retryAfterMs);
      }
    } finally {
      this.inFlight--;
      this.flush();
    }
  }

  private settleItem(item: Pending, response: BatchItemResponse | undefined): void {
    if (!response) return this.retry(item, 'graph_unavailable', undefined);
    if (response.status === 200 && typeof response.body === 'object' && response.body !== null) {
      return this.finish(item, { kind: 'found', item: response.body as Record<string, unknown> });
    }
    const code = graphErrorCode(response.body);
    // Only "no such item" means the item is gone (see judgeNotFound): the mailbox's own 404s leave it be.
    const notFound = judgeNotFound(response, item.goneCodes);
    if (notFound === 'gone') return this.finish(item, { kind: 'gone' });
    if (notFound === 'unreachable') return this.finish(item, { kind: 'failed', reason: 'mailbox_unavailable' });
    if (RETRYABLE_STATUSES.has(response.status)) {
      if (response.status === 429) this.metrics?.graphItemThrottled();
      const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      return this.retry(
        item,
        response.status === 429 ? 'throttled' : 'graph_unavailable',
        retryAfterMs(headers['retry-after']),
      );
    }
    this.finish(item, { kind: 'failed', reason: `graph_${response.status}${code ? `_${code}` : ''}` });
  }

  private retry(item: Pending, reason: string, afterMs: number | undefined): void {
    item.attempts++;
    item.lastFailure = reason;
    this.stats.itemRetries++;
    const wait = afterMs ?? Math.min(50 * 2 ** item.attempts, 1_000);
    // Waiting past the deadline would only make Graph wait: give up now and let the raw notification go out.
    if (Date.now() + wait >= item.deadline) return this.finish(item, { kind: 'failed', reason });
    setTimeout(() => this.enqueue(item), wait);
  }

  private finish(item: Pending, outcome: FetchOutcome): void {
    if (this.byKey.get(item.key) === item) this.byKey.delete(item.key);
    for (const waiter of item.waiters) waiter.settle(outcome);
  }
}
