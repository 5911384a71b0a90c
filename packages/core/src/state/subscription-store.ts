import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { KindName } from '../kinds/index.ts';
import type { ExpansionWindow, SubscriptionRecord } from '../model/subscription.ts';
import type { KeyFence } from '../fence/fence-types.ts';
import { MemoryKeyFence } from '../fence/memory-fence.ts';

/** How long a pending marker is matched after it was written (a create's calls and retries are bounded within it). */
export const PENDING_CREATE_MS = 10 * 60_000;
/** How long it is matched once the create returned: longer than the store cache remembers an id as unknown. */
export const PENDING_AFTER_CREATE_MS = 30_000;

/** Whether a pending marker still makes a notification a retry (markers of earlier versions: by `updatedAt`). */
export function pendingMatches(marker: SubscriptionRecord, now: number): boolean {
  if (!marker.pending) return false;
  const until = marker.pendingUntil
    ? Date.parse(marker.pendingUntil)
    : Date.parse(marker.updatedAt) + PENDING_CREATE_MS;
  return Number.isFinite(until) && now < until;
}

/** The store id of the pending marker for a clientState: a hash, so the id reveals nothing of the secret. */
export const pendingId = (clientState: string): string =>
  `pending-${createHash('sha256').update(clientState).digest('hex').slice(0, 48)}`;

/**
 * Names one delta round: a target (tenant, kind, mailbox, folder) and, where delta is per folder, the folder
 * (`scope`). The target's own state (scope empty) also says whether a resync is owed.
 */
export interface SyncRef {
  tenantId: string;
  userId: string;
  /** Absent in states written before kinds existed: events. */
  kind?: KindName;
  folderId?: string;
  scope?: string;
}

/** Per sync ref: where the last delta round ended, and whether a resync is owed (after missed/removed). */
export interface MailboxSyncState extends SyncRef {
  deltaLink: string | undefined;
  /** A target whose rounds are per folder keeps no link of its own; this says its baseline round was done. */
  baselined?: boolean;
  resyncPending: boolean;
  /**
   * The target's snapshot is not complete yet: its existing items are still being produced, page by page, from
   * the stored link (the target's own state only).
   */
  snapshotPending?: boolean;
  /** Items the snapshot of this scope produced so far. */
  snapshotItems?: number;
  updatedAt: string;
}

/** A change produced without its event (Graph throttled, the token endpoint down …), waiting to be repaired. */
export interface RepairEntry {
  tenantId: string;
  /** Absent in entries written before kinds existed: events. */
  kind?: KindName;
  userId: string;
  /** The item to read again; entries written before kinds existed name it `eventId`. */
  itemId?: string;
  eventId?: string;
  folderId?: string;
  select?: string;
  subscriptionId: string;
  changeType: 'created' | 'updated' | 'deleted';
  resource: string;
  /** Why the record went out unenriched (the record's notEnrichedReason). */
  reason: string;
  firstSeenAt: string;
  attempts: number;
  lastAttemptAt?: string;
  /**
   * Written fresh with every put: a delete names the put it saw, so an entry put again meanwhile (a re-read
   * queued by another instance, a retry) is not deleted with it. Absent in entries of earlier versions.
   */
  nonce?: string;
}

/**
 * What the functions leave for `graph2kafka status`: one record per timer run, and per instance and window a
 * summary of the answers it gave Graph. Small, few (pruned by the timer), never on Graph's answer path.
 */
export type HealthRecord = TimerRunRecord | AnswerWindowRecord;

export interface TimerRunRecord {
  type: 'timer_run';
  /** `timer-<start ms>`: ids sort by time. */
  id: string;
  startedAt: string;
  seconds: number;
  ok: boolean;
  /** The first errors of the run (tenant problems, Graph refusals), for the operator. */
  errors: string[];
  created: number;
  renewed: number;
  recreated: number;
  deferred: number;
  repaired: number;
  repairLeft: number;
}

export interface AnswerWindowRecord {
  type: 'answers';
  /** `answers-<window start ms>-<instance>`. */
  id: string;
  instance: string;
  from: string;
  to: string;
  /** POSTs by HTTP status. */
  statuses: Record<string, number>;
  /** POSTs answered after 2,900 ms. */
  slow: number;
  items: {
    produced: number;
    rejected: number;
    deadLettered: number;
    retryLater: number;
    unenriched: number;
    /**
     * Of `unenriched`: items past a POST's read limit. Graph's POSTs stay under it; made-up ids sent with one
     * subscription's clientState do not. Absent in records of earlier versions.
     */
    readLimited?: number;
  };
}

/** Names one recurring series: its master in a mailbox. */
export interface SeriesRef {
  tenantId: string;
  userId: string;
  masterId: string;
}

/**
 * What graph2kafka knows of a series master it produced: the subscription it came through and, when occurrences
 * are expanded, the window of the last expansion and the occurrences produced then, so the next expansion
 * tombstones exactly those that disappeared.
 */
export interface SeriesState extends SeriesRef {
  subscriptionId: string;
  select?: string;
  expand?: ExpansionWindow;
  /** The last expansion's window, ISO times; absent before the first one (or without expansion). */
  from?: string;
  to?: string;
  /** When the window next moves (the start of the next UTC day): the timer expands the series again then. */
  advanceAt?: string;
  occurrences: Array<{ id: string; originalStart: string }>;
  /** The master's `changeKey` the last expansion after a change was for (see `SeriesDue.masterVersion`). */
  masterVersion?: string;
  /**
   * Occurrences tombstoned while still inside the window: a resync's delta reports them removed again, and
   * must know them for occurrences (not events of their own).
   */
  retired?: Array<{ id: string; originalStart: string }>;
  updatedAt: string;
}

/** A series whose master changed and whose occurrences are owed an expansion (follow-up work, paced). */
export interface SeriesDue extends SeriesRef {
  subscriptionId: string;
  select?: string;
  expand?: ExpansionWindow;
  /** When the change was produced; a marker is cleared only if no newer change replaced it meanwhile. */
  changedAt: string;
  /**
   * The master's `changeKey` as read when its record was produced: a marker for the version the last expansion
   * was already for is cleared without reading the series again (a replayed or forged `updated` of an unchanged
   * master must not re-produce every occurrence). Graph changes the master with any of its occurrences.
   */
  masterVersion?: string;
  attempts: number;
  lastAttemptAt?: string;
}

export const repairItemId = (entry: RepairEntry): string => entry.itemId ?? entry.eventId ?? '';

const hex = (text: string, length: number): string => createHash('sha256').update(text).digest('hex').slice(0, length);

/** The id prefix all series of one mailbox share, so a mailbox's series list by a range of ids. */
export const seriesOwnerPrefix = (tenantId: string, userId: string): string =>
  `series-${hex(`${tenantId.toLowerCase()}/${userId.toLowerCase()}`, 24)}-`;

/** The store id of a series (its state and its due marker share it): its mailbox's prefix, then its master. */
export const seriesId = (ref: SeriesRef): string =>
  `${seriesOwnerPrefix(ref.tenantId, ref.userId)}${hex(`${ref.tenantId.toLowerCase()}/${ref.userId.toLowerCase()}/${ref.masterId}`, 32)}`;

/** Which series a listing returns: one mailbox's, and/or those whose last expansion window ends before a time. */
export interface SeriesQuery {
  owner?: { tenantId: string; userId: string };
  /** ISO time: series whose window moves by then (`advanceAt` not after it); the timer's window advance. */
  advanceBy?: string;
}

/** Whether a series state answers a query (the file store filters in memory; the others in the backend). */
export function seriesMatches(state: SeriesState, query: SeriesQuery): boolean {
  if (query.owner && !seriesId(state).startsWith(seriesOwnerPrefix(query.owner.tenantId, query.owner.userId)))
    return false;
  return query.advanceBy === undefined || (state.advanceAt !== undefined && state.advanceAt <= query.advanceBy);
}

/**
 * One entry per item: a second unenriched change of the same item is repaired by the same read. Events keep
 * the id they had before kinds existed, so entries queued by an older version are still found.
 */
export function repairId(entry: RepairEntry): string {
  const item = `${entry.tenantId.toLowerCase()}/${entry.userId.toLowerCase()}/${repairItemId(entry)}`;
  const name = !entry.kind || entry.kind === 'events' ? item : `${entry.kind}:${item}`;
  return `repair-${createHash('sha256').update(name).digest('hex').slice(0, 48)}`;
}

/**
 * State that survives restarts: subscriptions (with their clientState secrets), mailbox sync state, and the
 * repair queue of changes produced without their event.
 */
export interface SubscriptionStore {
  get(id: string): Promise<SubscriptionRecord | undefined>;
  /** What a cache already knows without a backend read: the record, null for known-unknown, else undefined. */
  peek?(id: string): SubscriptionRecord | null | undefined;
  /** Reads the backend, skipping any cache: for guards that must see the latest write. */
  getFresh?(id: string): Promise<SubscriptionRecord | undefined>;
  put(record: SubscriptionRecord): Promise<void>;
  delete(id: string): Promise<void>;
  list(): Promise<SubscriptionRecord[]>;
  getSync(ref: SyncRef): Promise<MailboxSyncState | undefined>;
  putSync(state: MailboxSyncState): Promise<void>;
  listSync(): Promise<MailboxSyncState[]>;
  putRepair(entry: RepairEntry): Promise<void>;
  /** Deletes the entry if it is still the put `entry` came from (same `nonce`; no nonce: whatever is there). */
  deleteRepair(entry: RepairEntry): Promise<void>;
  /** Up to `limit` entries, in no particular order. */
  listRepairs(limit: number): Promise<RepairEntry[]>;
  putHealth(record: HealthRecord): Promise<void>;
  deleteHealth(id: string): Promise<void>;
  listHealth(): Promise<HealthRecord[]>;
  getSeries(ref: SeriesRef): Promise<SeriesState | undefined>;
  putSeries(state: SeriesState): Promise<void>;
  deleteSeries(ref: SeriesRef): Promise<void>;
  /** Up to `limit` series that answer the query, in no particular order. */
  listSeries(query: SeriesQuery, limit: number): Promise<SeriesState[]>;
  getSeriesDue(ref: SeriesRef): Promise<SeriesDue | undefined>;
  putSeriesDue(due: SeriesDue): Promise<void>;
  deleteSeriesDue(ref: SeriesRef): Promise<void>;
  listSeriesDue(limit: number): Promise<SeriesDue[]>;
  /**
   * Records that a rich POST's validation token (by hash) was used, until `expiresAt`: true the first time, false
   * when any instance claimed it before — a token proves one POST, once, across instances.
   */
  claimToken(hash: string, expiresAt: string): Promise<boolean>;
  /** Forgets claims that expired before `now` (the timer); how many went. */
  pruneTokens(now: string): Promise<number>;
  /** The per-key fence kept beside this state (see fence/fence-types.ts): shared by every instance sharing it. */
  keyFence(): KeyFence;
  /** Releases connections (pools); a store without any has nothing to do. */
  close?(): Promise<void>;
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,160}$/;
/** Files read at once by a list (each holds a descriptor while it is read). */
const READ_SLICE = 256;

/** JSON documents in folders, each written atomically (temp file + rename). For local use and single hosts. */
export class FileSubscriptionStore implements SubscriptionStore {
  /** In memory: the file store serves one instance (see MemoryKeyFence). */
  private readonly fence = new MemoryKeyFence();
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  keyFence(): KeyFence {
    return this.fence;
  }

  get(id: string): Promise<SubscriptionRecord | undefined> {
    return this.read<SubscriptionRecord>('subscriptions', id);
  }

  put(record: SubscriptionRecord): Promise<void> {
    return this.write('subscriptions', record.id, record);
  }

  async delete(id: string): Promise<void> {
    if (!SAFE_ID.test(id)) return;
    await rm(join(this.root, 'subscriptions', `${id}.json`), { force: true });
  }

  list(): Promise<SubscriptionRecord[]> {
    return this.readAll<SubscriptionRecord>('subscriptions');
  }

  getSync(ref: SyncRef): Promise<MailboxSyncState | undefined> {
    return this.read<MailboxSyncState>('mailboxes', syncKey(ref));
  }

  putSync(state: MailboxSyncState): Promise<void> {
    return this.write('mailboxes', syncKey(state), state);
  }

  listSync(): Promise<MailboxSyncState[]> {
    return this.readAll<MailboxSyncState>('mailboxes');
  }

  putRepair(entry: RepairEntry): Promise<void> {
    return this.write('repairs', repairId(entry), entry);
  }

  async deleteRepair(entry: RepairEntry): Promise<void> {
    const id = repairId(entry);
    if (entry.nonce !== undefined && (await this.read<RepairEntry>('repairs', id))?.nonce !== entry.nonce) return;
    await rm(join(this.root, 'repairs', `${id}.json`), { force: true });
  }

  listRepairs(limit: number): Promise<RepairEntry[]> {
    return this.readAll<RepairEntry>('repairs', limit);
  }

  putHealth(record: HealthRecord): Promise<void> {
    return this.write('health', record.id, record);
  }

  async deleteHealth(id: string): Promise<void> {
    if (!SAFE_ID.test(id)) return;
    await rm(join(this.root, 'health', `${id}.json`), { force: true });
  }

  listHealth(): Promise<HealthRecord[]> {
    return this.readAll<HealthRecord>('health');
  }

  getSeries(ref: SeriesRef): Promise<SeriesState | undefined> {
    return this.read<SeriesState>('series', seriesId(ref));
  }

  putSeries(state: SeriesState): Promise<void> {
    return this.write('series', seriesId(state), state);
  }

  async deleteSeries(ref: SeriesRef): Promise<void> {
    await rm(join(this.root, 'series', `${seriesId(ref)}.json`), { force: true });
  }

  async listSeries(query: SeriesQuery, limit: number): Promise<SeriesState[]> {
    const prefix = query.owner ? seriesOwnerPrefix(query.owner.tenantId, query.owner.userId) : '';
    const all = await this.readAll<SeriesState>('series', Infinity, prefix);
    return all.filter((state) => seriesMatches(state, query)).slice(0, limit);
  }

  getSeriesDue(ref: SeriesRef): Promise<SeriesDue | undefined> {
    return this.read<SeriesDue>('series-due', seriesId(ref));
  }

  putSeriesDue(due: SeriesDue): Promise<void> {
    return this.write('series-due', seriesId(due), due);
  }

  async deleteSeriesDue(ref: SeriesRef): Promise<void> {
    await rm(join(this.root, 'series-due', `${seriesId(ref)}.json`), { force: true });
  }

  listSeriesDue(limit: number): Promise<SeriesDue[]> {
    return this.readAll<SeriesDue>('series-due', limit);
  }

  async claimToken(hash: string, expiresAt: string): Promise<boolean> {
    if (!SAFE_ID.test(hash)) return false;
    const dir = join(this.root, 'tokens');
    await mkdir(dir, { recursive: true });
    try {
      // `wx`: created only if absent, atomically, so two claims of one token never both succeed.
      await writeFile(join(dir, `${hash}.json`), JSON.stringify({ expiresAt }), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  async pruneTokens(now: string): Promise<number> {
    let names: string[];
    try {
      names = (await readdir(join(this.root, 'tokens'))).filter((n) => n.endsWith('.json'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let pruned = 0;
    for (const name of names) {
      const claim = await this.read<{ expiresAt: string }>('tokens', name.slice(0, -5));
      if (claim && claim.expiresAt < now) {
        await rm(join(this.root, 'tokens', name), { force: true });
        pruned++;
      }
    }
    return pruned;
  }

  private async read<T>(folder: string, id: string): Promise<T | undefined> {
    // Ids come from notifications, i.e. from the network: never let one become a path.
    if (!SAFE_ID.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(join(this.root, folder, `${id}.json`), 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async write(folder: string, id: string, doc: unknown): Promise<void> {
    if (!SAFE_ID.test(id)) throw new Error(`refusing to store a document named '${id}'`);
    const dir = join(this.root, folder);
    await mkdir(dir, { recursive: true });
    const target = join(dir, `${id}.json`);
    const temp = `${target}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, target);
  }

  private async readAll<T>(folder: string, limit = Infinity, prefix = ''): Promise<T[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, folder));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const ids = names
      .filter((n) => n.endsWith('.json') && n.startsWith(prefix))
      .slice(0, limit)
      .map((n) => n.slice(0, -5));
    // In slices: a store of 300,000 records read all at once would open more files than the process may.
    const docs: T[] = [];
    for (let i = 0; i < ids.length; i += READ_SLICE) {
      const slice = await Promise.all(ids.slice(i, i + READ_SLICE).map((id) => this.read<T>(folder, id)));
      for (const d of slice) if (d !== undefined) docs.push(d);
    }
    return docs;
  }
}

/** The id of a mailbox's events sync state, as stored before kinds existed. */
export const mailboxKey = (tenantId: string, userId: string): string =>
  `${tenantId.toLowerCase()}_${userId.toLowerCase()}`;

/**
 * The id of a sync state, the same in every backend. A mailbox's events keep the id they had before kinds
 * existed (`mailboxKey`), so stored delta links carry over; every other ref is hashed (folder ids are long).
 */
export function syncKey(ref: SyncRef): string {
  if ((!ref.kind || ref.kind === 'events') && !ref.folderId && !ref.scope) return mailboxKey(ref.tenantId, ref.userId);
  const name = [ref.kind, ref.tenantId.toLowerCase(), ref.userId.toLowerCase(), ref.folderId ?? '', ref.scope ?? ''];
  return `sync-${createHash('sha256').update(name.join('|')).digest('hex').slice(0, 48)}`;
}

/**
 * Keeps found records for a while, so a burst of notifications does not read the store for each one, and
 * unknown ids for a few seconds, so a flood of forged ids costs one read per id, not one per POST. Concurrent
 * lookups of one id share a single read (a burst arriving while the entry is missing or expired would
 * otherwise send one read each to the backend). A new subscription's first notification may find its id
 * remembered as unknown; its pending marker (`pendingId`) makes that a retry, not a loss.
 */
export class CachedSubscriptionStore implements SubscriptionStore {
  private readonly cache = new Map<string, { record: SubscriptionRecord | null; until: number }>();
  private readonly reading = new Map<string, Promise<SubscriptionRecord | undefined>>();
  /** Bumped by every write, so a read that started before one cannot cache what the write replaced. */
  private writes = 0;
  private readonly inner: SubscriptionStore;
  private readonly ttlMs: number;
  private readonly unknownTtlMs: number;
  private readonly maxEntries: number;

  constructor(inner: SubscriptionStore, ttlMs = 60_000, unknownTtlMs = 5_000, maxEntries = 100_000) {
    this.inner = inner;
    this.ttlMs = ttlMs;
    this.unknownTtlMs = unknownTtlMs;
    this.maxEntries = maxEntries;
  }

  peek(id: string): SubscriptionRecord | null | undefined {
    const hit = this.cache.get(id);
    return hit && hit.until > Date.now() ? hit.record : undefined;
  }

  get(id: string): Promise<SubscriptionRecord | undefined> {
    const hit = this.peek(id);
    if (hit !== undefined) return Promise.resolve(hit ?? undefined);
    let read = this.reading.get(id);
    if (!read) {
      const writesBefore = this.writes;
      const pending: Promise<SubscriptionRecord | undefined> = this.inner
        .get(id)
        .then((record) => {
          if (this.writes === writesBefore) this.remember(id, record ?? null);
          return record;
        })
        .finally(() => {
          // A write may have started a newer read of the same id meanwhile; that one stays shared.
          if (this.reading.get(id) === pending) this.reading.delete(id);
        });
      this.reading.set(id, (read = pending));
    }
    return read;
  }

  getFresh(id: string): Promise<SubscriptionRecord | undefined> {
    return this.inner.get(id);
  }

  private remember(id: string, record: SubscriptionRecord | null): void {
    // Bounded: forged ids must not grow the cache without limit; the oldest entries go first.
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, { record, until: Date.now() + (record ? this.ttlMs : this.unknownTtlMs) });
  }

  async put(record: SubscriptionRecord): Promise<void> {
    await this.inner.put(record);
    this.wrote(record.id);
    this.remember(record.id, record);
  }

  async delete(id: string): Promise<void> {
    await this.inner.delete(id);
    this.wrote(id);
    this.cache.delete(id);
  }

  private wrote(id: string): void {
    this.writes++;
    // A read already on its way may hold the old record; the next lookup reads afresh.
    this.reading.delete(id);
  }

  list(): Promise<SubscriptionRecord[]> {
    return this.inner.list();
  }

  getSync(ref: SyncRef): Promise<MailboxSyncState | undefined> {
    return this.inner.getSync(ref);
  }

  putSync(state: MailboxSyncState): Promise<void> {
    return this.inner.putSync(state);
  }

  listSync(): Promise<MailboxSyncState[]> {
    return this.inner.listSync();
  }

  putRepair(entry: RepairEntry): Promise<void> {
    return this.inner.putRepair(entry);
  }

  deleteRepair(entry: RepairEntry): Promise<void> {
    return this.inner.deleteRepair(entry);
  }

  listRepairs(limit: number): Promise<RepairEntry[]> {
    return this.inner.listRepairs(limit);
  }

  putHealth(record: HealthRecord): Promise<void> {
    return this.inner.putHealth(record);
  }

  deleteHealth(id: string): Promise<void> {
    return this.inner.deleteHealth(id);
  }

  listHealth(): Promise<HealthRecord[]> {
    return this.inner.listHealth();
  }

  getSeries(ref: SeriesRef): Promise<SeriesState | undefined> {
    return this.inner.getSeries(ref);
  }

  putSeries(state: SeriesState): Promise<void> {
    return this.inner.putSeries(state);
  }

  deleteSeries(ref: SeriesRef): Promise<void> {
    return this.inner.deleteSeries(ref);
  }

  listSeries(query: SeriesQuery, limit: number): Promise<SeriesState[]> {
    return this.inner.listSeries(query, limit);
  }

  getSeriesDue(ref: SeriesRef): Promise<SeriesDue | undefined> {
    return this.inner.getSeriesDue(ref);
  }

  putSeriesDue(due: SeriesDue): Promise<void> {
    return this.inner.putSeriesDue(due);
  }

  deleteSeriesDue(ref: SeriesRef): Promise<void> {
    return this.inner.deleteSeriesDue(ref);
  }

  listSeriesDue(limit: number): Promise<SeriesDue[]> {
    return this.inner.listSeriesDue(limit);
  }

  claimToken(hash: string, expiresAt: string): Promise<boolean> {
    return this.inner.claimToken(hash, expiresAt);
  }

  pruneTokens(now: string): Promise<number> {
    return this.inner.pruneTokens(now);
  }

  keyFence(): KeyFence {
    return this.inner.keyFence();
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
