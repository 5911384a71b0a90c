import type pg from 'pg';
import { lastPerKey, OUTSTOOD, verdict } from './fence-rules.ts';
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
      `INSERT INTO ${this.table} AS f (key, claimed, winner, gone, version, carried, at)
         SELECT key, claimed, claimed, gone, version, carried, now()
           FROM unnest($1::text[], $2::bigint[], $3::bool[], $4::bigint[], $5::bool[]) AS i(key, claimed, gone, version, carried)
       ON CONFLICT (key) DO UPDATE
         SET claimed = GREATEST(f.claimed, EXCLUDED.claimed), winner = EXCLUDED.claimed, gone = EXCLUDED.gone, version = EXCLUDED.version,
             carried = EXCLUDED.carried, settled = false, at = now()
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
    // A claim that lost: the row says whether to drop it (a newer record in Kafka, an older carried item) or to
    // read the key again (a newer record still on its way, an absence a carried item met). Paid only by losers.
    const lost = tried.filter((c) => !won.has(c.key));
    const rows = lost.length ? await this.rows(lost.map((c) => c.key)) : new Map<string, FenceRow>();
    return claims.map((c, i) => {
      if (last.get(c.key) !== i) return OUTSTOOD;
      if (won.has(c.key)) return 'won';
      const v = verdict(rows.get(c.key), c);
      // The row changed between the two statements: read again rather than guess.
      return v === 'won' ? 'reread' : v;
    });
  }

  /** The rows of `keys` (a lost carried claim's, and the post-ack check's). */
  private async rows(keys: string[], name?: string): Promise<Map<string, FenceRow>> {
    const result = await this.query(
      `SELECT key, claimed, winner, gone, version, carried, settled, extract(epoch from at) * 1000 AS at FROM ${this.table} WHERE key = ANY($1::text[])`,
      [keys],
      name,
    );
    type Row = {
      key: string;
      claimed: string;
      winner: string;
      gone: boolean;
      version: string | null;
      carried: boolean;
      settled: boolean;
      at: string;
    };
    return new Map(
      (result.rows as Row[]).map((r) => [
        r.key,
        {
          claimed: Number(r.claimed),
          winner: Number(r.winner),
          gone: r.gone,
          version: r.version === null ? undefined : Number(r.version),
          carried: r.carried,
          settled: r.settled,
          at: Number(r.at),
        },
      ]),
    );
  }

  async overtaken(marks: readonly FenceMark[]): Promise<boolean[]> {
    if (!marks.length) return [];
    await this.created();
    // Settles each key still claimed with the mark's token, and reads the rows as they were, in one statement.
    const result = await this.query(
      `WITH m AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS m(key, token)),
            s AS (UPDATE ${this.table} f SET settled = true FROM m WHERE f.key = m.key AND f.winner = m.token RETURNING f.key)
       SELECT key, winner, gone FROM ${this.table} WHERE key IN (SELECT key FROM m)`,
      [marks.map((m) => m.key), marks.map((m) => m.token)],
      `${this.table}_settle`,
    );
    const rows = new Map(
      (result.rows as Array<{ key: string; winner: string; gone: boolean }>).map((r) => [
        r.key,
        { winner: Number(r.winner), gone: r.gone },
      ]),
    );
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
      `CREATE TABLE IF NOT EXISTS ${this.table} (key text PRIMARY KEY, claimed bigint NOT NULL, winner bigint NOT NULL DEFAULT 0, gone boolean NOT NULL, version bigint, carried boolean NOT NULL DEFAULT false, settled boolean NOT NULL DEFAULT false, at timestamptz NOT NULL DEFAULT now());
       ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS settled boolean NOT NULL DEFAULT false;
       ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS winner bigint NOT NULL DEFAULT 0;
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
