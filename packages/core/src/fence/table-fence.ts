import { createHash } from 'node:crypto';
import { RestError, type TableClient, type TransactionAction } from '@azure/data-tables';
import { lastPerKey, OUTSTOOD, rowOf, verdict } from './fence-rules.ts';
import {
  overtakenBy,
  type ClaimVerdict,
  type FenceClaim,
  type FenceMark,
  type FenceRow,
  type KeyFence,
} from './fence-types.ts';

interface RowEntity {
  claimed: unknown;
  winner?: unknown;
  gone: boolean;
  version?: unknown;
  carried?: boolean;
  settled?: boolean;
  at: unknown;
}

/** Attempts of one compare-and-set before the call fails (other instances kept winning the same row). */
const MAX_CAS = 8;

const conflict = (err: unknown): boolean =>
  err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412);
const notFound = (err: unknown): boolean => err instanceof RestError && err.statusCode === 404;
/** Row keys may not hold `/`, `#`, `?` or `\`: keys and scopes are named by their hash. */
const rowKey = (name: string): string => createHash('sha256').update(name).digest('base64url');
/** An Int64 property as the SDK returns it (`{ value, type }` unless converted). */
function int64(v: unknown): number {
  if (v && typeof v === 'object' && 'value' in v) return Number(v.value);
  return Number(v);
}

/** Row keys one query may name: Table Storage allows 15 comparisons in a filter (the partition, then these). */
const KEYS_PER_QUERY = 14;
/** Operations one entity group transaction may hold. */
const PER_TRANSACTION = 100;

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

const int64Of = (n: number) => ({ value: String(n), type: 'Int64' as const });

function rowFrom(e: RowEntity): FenceRow {
  return {
    claimed: int64(e.claimed),
    winner: e.winner === undefined || e.winner === null ? int64(e.claimed) : int64(e.winner),
    gone: e.gone,
    version: e.version === undefined || e.version === null ? undefined : int64(e.version),
    carried: e.carried === true,
    settled: e.settled === true,
    at: int64(e.at),
  };
}

/**
 * The fence in Azure Table Storage, beside the state store's entities: a counter per scope and a row per key,
 * each changed by compare-and-set on its ETag (create when absent, If-Match when present), so two instances
 * never both win one token or one key. A call reads its rows with a few queries and writes them in entity group
 * transactions (one partition each: `fence`, `fencetoken`), so a POST of 20 items costs a handful of requests,
 * not one or two per item. A transaction whose row changed meanwhile fails whole, and its rows are read again.
 */
export class TableKeyFence implements KeyFence {
  private readonly client: TableClient;
  private readonly ensure: () => Promise<void>;

  constructor(client: TableClient, ensure: () => Promise<void>) {
    this.client = client;
    this.ensure = ensure;
  }

  async begin(scopes: readonly string[]): Promise<Map<string, number>> {
    await this.ensure();
    const issued = new Map<string, number>();
    let pending = [...new Set(scopes)];
    for (let attempt = 0; pending.length && attempt < MAX_CAS; attempt++) {
      const current = await this.entities<{ issued: unknown }>('fencetoken', pending);
      const next = new Map(pending.map((s) => [s, (current.has(s) ? int64(current.get(s)!.entity.issued) : 0) + 1]));
      pending = await this.transact(pending, (s) => {
        const entity = { partitionKey: 'fencetoken', rowKey: rowKey(s), issued: int64Of(next.get(s)!) };
        const was = current.get(s);
        return was ? ['update', entity, 'Replace', { etag: was.etag }] : ['create', entity];
      });
      for (const s of next.keys()) if (!pending.includes(s)) issued.set(s, next.get(s)!);
    }
    if (pending.length)
      throw new Error(`the fence's tokens for ${pending.length} scope(s) kept changing under other instances; retry`);
    return new Map(scopes.map((s) => [s, issued.get(s)!]));
  }

  async claim(claims: readonly FenceClaim[]): Promise<ClaimVerdict[]> {
    await this.ensure();
    const last = lastPerKey(claims);
    const verdicts: Array<ClaimVerdict | undefined> = claims.map((c, i) =>
      last.get(c.key) === i ? undefined : OUTSTOOD,
    );
    const byKey = new Map([...last.values()].map((i) => [claims[i]!.key, i]));
    let pending = [...byKey.keys()];
    for (let attempt = 0; pending.length && attempt < MAX_CAS; attempt++) {
      const current = await this.entities<RowEntity>('fence', pending);
      const winners: string[] = [];
      for (const key of pending) {
        const i = byKey.get(key)!;
        const v = verdict(current.has(key) ? rowFrom(current.get(key)!.entity) : undefined, claims[i]!);
        if (v === 'won') winners.push(key);
        else verdicts[i] = v;
      }
      pending = await this.transact(winners, (key) => {
        const c = claims[byKey.get(key)!]!;
        const was = current.get(key);
        const next = rowOf(c, Date.now(), was ? rowFrom(was.entity) : undefined);
        const entity = {
          partitionKey: 'fence',
          rowKey: rowKey(key),
          claimed: int64Of(next.claimed),
          winner: int64Of(next.winner),
          gone: c.gone,
          carried: c.carried,
          settled: false,
          ...(c.version !== undefined ? { version: int64Of(c.version) } : {}),
          at: int64Of(Date.now()),
        };
        return was ? ['update', entity, 'Replace', { etag: was.etag }] : ['create', entity];
      });
      for (const key of winners) if (!pending.includes(key)) verdicts[byKey.get(key)!] = 'won';
    }
    if (pending.length)
      throw new Error(`the fence rows of ${pending.length} key(s) kept changing under other instances; retry`);
    return verdicts as ClaimVerdict[];
  }

  async overtaken(marks: readonly FenceMark[]): Promise<boolean[]> {
    await this.ensure();
    const current = await this.entities<RowEntity>('fence', [...new Set(marks.map((m) => m.key))]);
    const rows = new Map([...current].map(([key, { entity }]) => [key, rowFrom(entity)]));
    // Settled: the mark's record is in Kafka while it is still its key's winner. A row changed meanwhile (412)
    // has a newer claim, which settles itself; the transaction's other rows are then settled one by one.
    const settle = [
      ...new Set(
        marks.filter((m) => rows.get(m.key)?.winner === m.token && !rows.get(m.key)!.settled).map((m) => m.key),
      ),
    ];
    const merge = (key: string): TransactionAction => [
      'update',
      { partitionKey: 'fence', rowKey: rowKey(key), settled: true },
      'Merge',
      { etag: current.get(key)!.etag },
    ];
    const left = await this.transact(settle, merge);
    await Promise.all(
      left.map((key) =>
        this.client
          .updateEntity({ partitionKey: 'fence', rowKey: rowKey(key), settled: true }, 'Merge', {
            etag: current.get(key)!.etag,
          })
          .catch((err: unknown) => {
            if (!conflict(err) && !notFound(err)) throw err;
          }),
      ),
    );
    return marks.map((m) => overtakenBy(rows.get(m.key), m));
  }

  async prune(before: Date, goneBefore: Date, deadline: number): Promise<number> {
    await this.ensure();
    let pruned = 0;
    const filter = `PartitionKey eq 'fence' and ((at lt ${before.getTime()}L) or (gone eq true and at lt ${goneBefore.getTime()}L))`;
    for await (const e of this.client.listEntities<RowEntity>({ queryOptions: { filter, select: ['rowKey'] } })) {
      if (Date.now() >= deadline) break;
      try {
        await this.client.deleteEntity('fence', e.rowKey!);
        pruned++;
      } catch (err) {
        if (!notFound(err)) throw err;
      }
    }
    return pruned;
  }

  /** The entities of `names` in `partition` (by name), with their ETags: a query per 14 names, all at once. */
  private async entities<E extends object>(
    partition: 'fence' | 'fencetoken',
    names: readonly string[],
  ): Promise<Map<string, { entity: E; etag: string }>> {
    const byRowKey = new Map(names.map((n) => [rowKey(n), n]));
    const found = new Map<string, { entity: E; etag: string }>();
    await Promise.all(
      chunks([...byRowKey.keys()], KEYS_PER_QUERY).map(async (keys) => {
        // Row keys are base64url: nothing in them needs escaping in a filter.
        const filter = `PartitionKey eq '${partition}' and (${keys.map((k) => `RowKey eq '${k}'`).join(' or ')})`;
        for await (const e of this.client.listEntities<E>({ queryOptions: { filter } }))
          found.set(byRowKey.get(e.rowKey!)!, { entity: e, etag: e.etag });
      }),
    );
    return found;
  }

  /**
   * Writes one action per name in entity group transactions of up to 100; returns the names of transactions
   * that failed for a conflict (a row changed or appeared meanwhile), to be read and tried again.
   */
  private async transact(names: readonly string[], action: (name: string) => TransactionAction): Promise<string[]> {
    const failed: string[] = [];
    await Promise.all(
      chunks(names, PER_TRANSACTION).map(async (group) => {
        try {
          await this.client.submitTransaction(group.map(action));
        } catch (err) {
          if (!conflict(err) && !notFound(err)) throw err;
          failed.push(...group);
        }
      }),
    );
    return failed;
  }
}
