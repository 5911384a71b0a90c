import pg from 'pg';
import type { KeyFence } from '../fence/fence-types.ts';
import { PostgresKeyFence } from '../fence/postgres-fence.ts';
import {
  repairId,
  seriesId,
  seriesOwnerPrefix,
  syncKey,
  type SeriesQuery,
  type SeriesDue,
  type SeriesRef,
  type SeriesState,
  type MailboxSyncState,
  type SyncRef,
  type HealthRecord,
  type RepairEntry,
  type SubscriptionStore,
} from './subscription-store.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';

type Kind = 'subscription' | 'mailbox' | 'repair' | 'health' | 'series' | 'seriesdue' | 'token';

const SAFE_ID = /^[A-Za-z0-9_-]{1,200}$/;

/**
 * PostgreSQL — on GCP, Cloud SQL (the functions connect through the built-in Cloud SQL connector socket,
 * `?host=/cloudsql/PROJECT:REGION:INSTANCE`). One table of JSON documents keyed by kind and id; created on
 * first use. A small pool per function instance.
 */
export class PostgresSubscriptionStore implements SubscriptionStore {
  private readonly pool: pg.Pool;
  private readonly table: string;
  private ready: Promise<void> | undefined;
  private readonly fence: PostgresKeyFence;

  constructor(connectionString: string, table = 'graph2kafka_state') {
    this.pool = new pg.Pool({ connectionString, max: 4, idleTimeoutMillis: 30_000 });
    // An idle connection the server ends (Cloud SQL maintenance or failover, a restart: 57P01) is reported on the
    // pool; unheard, that 'error' would end the process. The pool has already dropped that client and the next
    // query opens a new one; a query in flight gets its own error.
    this.pool.on('error', () => undefined);
    this.table = table;
    this.fence = new PostgresKeyFence(
      (sql, params, name) =>
        name ? this.pool.query({ name, text: sql, values: params }) : this.pool.query(sql, params),
      table,
    );
  }

  keyFence(): KeyFence {
    return this.fence;
  }

  get(id: string): Promise<SubscriptionRecord | undefined> {
    return this.read<SubscriptionRecord>('subscription', id);
  }

  put(record: SubscriptionRecord): Promise<void> {
    return this.write('subscription', record.id, record);
  }

  async delete(id: string): Promise<void> {
    await this.query(`DELETE FROM ${this.table} WHERE kind = $1 AND id = $2`, ['subscription', id]);
  }

  list(): Promise<SubscriptionRecord[]> {
    return this.readAll<SubscriptionRecord>('subscription');
  }

  getSync(ref: SyncRef): Promise<MailboxSyncState | undefined> {
    return this.read<MailboxSyncState>('mailbox', syncKey(ref));
  }

  putSync(state: MailboxSyncState): Promise<void> {
    return this.write('mailbox', syncKey(state), state);
  }

  listSync(): Promise<MailboxSyncState[]> {
    return this.readAll<MailboxSyncState>('mailbox');
  }

  putRepair(entry: RepairEntry): Promise<void> {
    return this.write('repair', repairId(entry), entry);
  }

  async deleteRepair(entry: RepairEntry): Promise<void> {
    await this.query(
      `DELETE FROM ${this.table} WHERE kind = $1 AND id = $2 AND ($3::text IS NULL OR doc->>'nonce' = $3)`,
      ['repair', repairId(entry), entry.nonce ?? null],
    );
  }

  async listRepairs(limit: number): Promise<RepairEntry[]> {
    const result = await this.query(`SELECT doc FROM ${this.table} WHERE kind = $1 LIMIT $2`, ['repair', limit]);
    return (result.rows as Array<{ doc: RepairEntry }>).map((r) => r.doc);
  }

  putHealth(record: HealthRecord): Promise<void> {
    return this.write('health', record.id, record);
  }

  async deleteHealth(id: string): Promise<void> {
    await this.query(`DELETE FROM ${this.table} WHERE kind = $1 AND id = $2`, ['health', id]);
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
    await this.query(`DELETE FROM ${this.table} WHERE kind = $1 AND id = $2`, ['series', seriesId(ref)]);
  }

  async listSeries(query: SeriesQuery, limit: number): Promise<SeriesState[]> {
    // The owner is a prefix of the id; `advanceAt` is an ISO time, so text order is time order.
    const result = await this.query(
      `SELECT doc FROM ${this.table} WHERE kind = $1 AND id LIKE $2 AND ($3::text IS NULL OR doc->>'advanceAt' <= $3) LIMIT $4`,
      [
        'series',
        `${query.owner ? seriesOwnerPrefix(query.owner.tenantId, query.owner.userId) : ''}%`,
        query.advanceBy ?? null,
        limit,
      ],
    );
    return (result.rows as Array<{ doc: SeriesState }>).map((r) => r.doc);
  }

  getSeriesDue(ref: SeriesRef): Promise<SeriesDue | undefined> {
    return this.read<SeriesDue>('seriesdue', seriesId(ref));
  }

  putSeriesDue(due: SeriesDue): Promise<void> {
    return this.write('seriesdue', seriesId(due), due);
  }

  async deleteSeriesDue(ref: SeriesRef): Promise<void> {
    await this.query(`DELETE FROM ${this.table} WHERE kind = $1 AND id = $2`, ['seriesdue', seriesId(ref)]);
  }

  async listSeriesDue(limit: number): Promise<SeriesDue[]> {
    const result = await this.query(`SELECT doc FROM ${this.table} WHERE kind = $1 LIMIT $2`, ['seriesdue', limit]);
    return (result.rows as Array<{ doc: SeriesDue }>).map((r) => r.doc);
  }

  async claimToken(hash: string, expiresAt: string): Promise<boolean> {
    if (!SAFE_ID.test(hash)) return false;
    const result = await this.query(
      `INSERT INTO ${this.table} (kind, id, doc, updated_at) VALUES ('token', $1, $2, now()) ON CONFLICT (kind, id) DO NOTHING`,
      [hash, JSON.stringify({ expiresAt })],
    );
    return result.rowCount === 1;
  }

  async pruneTokens(now: string): Promise<number> {
    const result = await this.query(`DELETE FROM ${this.table} WHERE kind = 'token' AND doc->>'expiresAt' < $1`, [now]);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async query(sql: string, params: unknown[]): Promise<pg.QueryResult> {
    this.ready ??= this.pool
      .query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (kind text NOT NULL, id text NOT NULL, doc jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (kind, id))`,
      )
      .then(() => undefined)
      .catch((err: unknown) => {
        this.ready = undefined;
        throw err;
      });
    await this.ready;
    return this.pool.query(sql, params);
  }

  private async read<T>(kind: Kind, id: string): Promise<T | undefined> {
    if (!SAFE_ID.test(id)) return undefined;
    const result = await this.query(`SELECT doc FROM ${this.table} WHERE kind = $1 AND id = $2`, [kind, id]);
    return (result.rows[0] as { doc: T } | undefined)?.doc;
  }

  private async write(kind: Kind, id: string, doc: unknown): Promise<void> {
    if (!SAFE_ID.test(id)) throw new Error(`refusing to store a document named '${id}'`);
    await this.query(
      `INSERT INTO ${this.table} (kind, id, doc, updated_at) VALUES ($1, $2, $3, now()) ON CONFLICT (kind, id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()`,
      [kind, id, JSON.stringify(doc)],
    );
  }

  private async readAll<T>(kind: Kind): Promise<T[]> {
    const result = await this.query(`SELECT doc FROM ${this.table} WHERE kind = $1 ORDER BY id`, [kind]);
    return (result.rows as Array<{ doc: T }>).map((r) => r.doc);
  }
}
