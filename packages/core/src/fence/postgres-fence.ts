import type pg from 'pg';
import { lastPerKey, verdict } from './fence-rules.ts';
import {
  overtakenBy,
  type ClaimVerdict,
  type FenceClaim,
  type FenceMark,
  type FenceRow,
  type KeyFence,
} from './fence-types.ts';

/** Runs a statement; a `name` makes it a prepared statement, parsed and planned once per connection. */
type Query = (sql: string, params: unknown[], name?: string) => Promise<pg.QueryResult>;

/**
 * The fence in PostgreSQL, beside the state store's table: one sequence for tokens (one `nextval` per call,
 * whatever the scopes: a global order is also an order per scope) and one row per key. Each call is one
 * statement, so a POST costs three round trips whatever its size.
 */
export class PostgresKeyFence implements KeyFence {
  private readonly query: Query;
  private readonly table: string;
  private ready: Promise<void> | undefined;

  constructor(query: Query, stateTable: string) {
    this.query = query;
    this.table = `${stateTable}_fence`;
  }

  async begin(scopes: readonly string[]): Promise<Map<string, number>> {
    if (!scopes.length) return new Map();
    await this.created();
    const result = await this.query(`SELECT nextval('${this.table}_seq') AS token`, [], `${this.table}_begin`);
    const token = Number((result.rows[0] as { token: string }).token);
    return new Map(scopes.map((s) => [s, token]));
  }

  async claim(claims: readonly FenceClaim[]): Promise<ClaimVerdict[]> {
    if (!claims.length) return [];
    await this.created();
    const last = lastPerKey(claims);
    // In key order: two instances upserting overlapping keys then lock them in the same order (no deadlock).
    const tried = [...last.values()]
      .map((i) => claims[i]!)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // The rule of fence-rules.ts `verdict`, in one upsert: a row is written only when the claim wins.
    const result = await this.query(
      `INSERT INTO ${this.table} AS f (key, claimed, gone, version, carried, at)
         SELECT key, claimed, gone, version, carried, now()
           FROM unnest($1::text[], $2::bigint[], $3::bool[], $4::bigint[], $5::bool[]) AS i(key, claimed, gone, version, carried)
       ON CONFLICT (key) DO UPDATE
         SET claimed = GREATEST(f.claimed, EXCLUDED.claimed), gone = EXCLUDED.gone, version = EXCLUDED.version,
             carried = EXCLUDED.carried, at = now()
         WHERE CASE
           WHEN EXCLUDED.carried THEN NOT f.gone
             AND NOT (f.version IS NOT NULL AND EXCLUDED.version IS NOT NULL AND EXCLUDED.version < f.version)
             AND f.claimed < EXCLUDED.claimed
           WHEN f.carried AND EXCLUDED.gone THEN true
           WHEN f.carried AND f.version IS NOT NULL AND EXCLUDED.version IS NOT NULL THEN EXCLUDED.version >= f.version
           ELSE f.claimed < EXCLUDED.claimed
         END
       RETURNING key`,
      [
        tried.map((c) => c.key),
        tried.map((c) => c.token),
        tried.map((c) => c.gone),
        tried.map((c) => c.version ?? null),
        tried.map((c) => c.carried),
      ],
      `${this.table}_claim`,
    );
    const won = new Set((result.rows as Array<{ key: string }>).map((r) => r.key));
    // A carried item that lost: the row says whether it was older (stale) or met an absence (reread). Rare, so
    // the extra round trip is paid only then.
    const lostCarried = tried.filter((c) => c.carried && !won.has(c.key));
    const rows = lostCarried.length ? await this.rows(lostCarried.map((c) => c.key)) : new Map<string, FenceRow>();
    return claims.map((c, i) => {
      if (last.get(c.key) !== i) return 'stale';
      if (won.has(c.key)) return 'won';
      if (!c.carried) return 'stale';
      const v = verdict(rows.get(c.key), c);
      return v === 'won' ? 'reread' : v;
    });
  }

  /** The rows of `keys` (a lost carried claim's, and the post-ack check's). */
  private async rows(keys: string[], name?: string): Promise<Map<string, FenceRow>> {
    const result = await this.query(
      `SELECT key, claimed, gone, version, carried, extract(epoch from at) * 1000 AS at FROM ${this.table} WHERE key = ANY($1::text[])`,
      [keys],
      name,
    );
    type Row = { key: string; claimed: string; gone: boolean; version: string | null; carried: boolean; at: string };
    return new Map(
      (result.rows as Row[]).map((r) => [
        r.key,
        {
          claimed: Number(r.claimed),
          gone: r.gone,
          version: r.version === null ? undefined : Number(r.version),
          carried: r.carried,
          at: Number(r.at),
        },
      ]),
    );
  }

  async overtaken(marks: readonly FenceMark[]): Promise<boolean[]> {
    if (!marks.length) return [];
    await this.created();
    const rows = await this.rows([...new Set(marks.map((m) => m.key))], `${this.table}_overtaken`);
    return marks.map((m) => overtakenBy(rows.get(m.key), m));
  }

  async prune(before: Date, goneBefore: Date): Promise<number> {
    await this.created();
    const result = await this.query(`DELETE FROM ${this.table} WHERE at < $1 OR (gone AND at < $2)`, [
      before.toISOString(),
      goneBefore.toISOString(),
    ]);
    return result.rowCount ?? 0;
  }

  private created(): Promise<void> {
    this.ready ??= this.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (key text PRIMARY KEY, claimed bigint NOT NULL, gone boolean NOT NULL, version bigint, carried boolean NOT NULL DEFAULT false, at timestamptz NOT NULL DEFAULT now());
       CREATE SEQUENCE IF NOT EXISTS ${this.table}_seq`,
      [],
    )
      .then(() => undefined)
      .catch((err: unknown) => {
        this.ready = undefined;
        throw err;
      });
    return this.ready;
  }
}
