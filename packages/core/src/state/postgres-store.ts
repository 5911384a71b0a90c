import pg from 'pg';
import type { KeyFence } from '../fence/fence-types.ts';
import { PostgresKeyFence } from '../fence/postgres-fence.ts';
import type { CollectionLayout, DeleteCondition, Doc, DocumentStore, ListQuery, StoredDoc } from './document-types.ts';
import { isSafeId, isSafePrefix, refuseUnsafe } from './safe-id.ts';

const MAX_ID = 200;
/** A field name goes into `doc->>…` as a parameter, never as SQL text; this keeps it a plain name anyway. */
const FIELD = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * PostgreSQL — on GCP, Cloud SQL (the functions connect through the built-in Cloud SQL connector socket,
 * `?host=/cloudsql/PROJECT:REGION:INSTANCE`). One table of JSON documents keyed by kind (the collection) and
 * id; created on first use. A small pool per function instance.
 */
export class PostgresDocumentStore implements DocumentStore {
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

  async get(collection: CollectionLayout, id: string): Promise<Doc | undefined> {
    if (!isSafeId(id, MAX_ID)) return undefined;
    const result = await this.query(`SELECT doc FROM ${this.table} WHERE kind = $1 AND id = $2`, [collection.name, id]);
    return (result.rows[0] as { doc: Doc } | undefined)?.doc;
  }

  async put(collection: CollectionLayout, id: string, doc: Doc): Promise<void> {
    refuseUnsafe(id, MAX_ID);
    await this.query(
      `INSERT INTO ${this.table} (kind, id, doc, updated_at) VALUES ($1, $2, $3, now()) ON CONFLICT (kind, id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()`,
      [collection.name, id, JSON.stringify(doc)],
    );
  }

  async createIfAbsent(collection: CollectionLayout, id: string, doc: Doc): Promise<boolean> {
    refuseUnsafe(id, MAX_ID);
    const result = await this.query(
      `INSERT INTO ${this.table} (kind, id, doc, updated_at) VALUES ($1, $2, $3, now()) ON CONFLICT (kind, id) DO NOTHING`,
      [collection.name, id, JSON.stringify(doc)],
    );
    return result.rowCount === 1;
  }

  async delete(collection: CollectionLayout, id: string, expect?: DeleteCondition): Promise<void> {
    if (!isSafeId(id, MAX_ID)) return;
    if (expect && !FIELD.test(expect.field)) throw new Error(`not a field name: '${expect.field}'`);
    // The condition in the statement itself: a put between a read and the delete cannot slip through.
    await this.query(`DELETE FROM ${this.table} WHERE kind = $1 AND id = $2 AND ($3::text IS NULL OR doc->>$3 = $4)`, [
      collection.name,
      id,
      expect?.field ?? null,
      expect?.value ?? null,
    ]);
  }

  async list(collection: CollectionLayout, query: ListQuery = {}): Promise<StoredDoc[]> {
    const { prefix = '', indexAtMost, limit } = query;
    if (!isSafePrefix(prefix)) throw new Error(`refusing to list documents by '${prefix}'`);
    const field = indexAtMost === undefined ? null : (collection.index ?? null);
    // `_` is an id character and a LIKE wildcard: escaped, a prefix matches only itself. The index holds ISO
    // times (or other text sorting as it should), so text order is the order wanted.
    const result = await this.query(
      `SELECT id, doc FROM ${this.table} WHERE kind = $1 AND id LIKE $2 AND ($3::text IS NULL OR doc->>$3 <= $4) ORDER BY id LIMIT $5`,
      [collection.name, `${prefix.replaceAll('_', '\\_')}%`, field, indexAtMost ?? null, limit ?? null],
    );
    return result.rows as StoredDoc[];
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
}
