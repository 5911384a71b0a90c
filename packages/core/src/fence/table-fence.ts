import { createHash } from 'node:crypto';
import { RestError, type TableClient } from '@azure/data-tables';
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

/**
 * The fence in Azure Table Storage, beside the state store's entities: a counter per scope and a row per key,
 * each changed by compare-and-set on its ETag (create when absent, If-Match when present), so two instances
 * never both win one token or one key.
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
    const unique = [...new Set(scopes)];
    const tokens = await Promise.all(unique.map((s) => this.next(s)));
    return new Map(unique.map((s, i) => [s, tokens[i]!]));
  }

  async claim(claims: readonly FenceClaim[]): Promise<ClaimVerdict[]> {
    await this.ensure();
    const last = lastPerKey(claims);
    return Promise.all(claims.map((c, i) => (last.get(c.key) === i ? this.claimOne(c) : Promise.resolve(OUTSTOOD))));
  }

  async overtaken(marks: readonly FenceMark[]): Promise<boolean[]> {
    await this.ensure();
    return Promise.all(
      marks.map(async (m) => {
        const current = await this.row(m.key);
        if (current && current.row.winner === m.token && !current.row.settled)
          await this.client
            .updateEntity({ partitionKey: 'fence', rowKey: rowKey(m.key), settled: true }, 'Merge', {
              etag: current.etag,
            })
            // A newer claim came in meanwhile (412): it settles itself.
            .catch((err: unknown) => {
              if (!conflict(err) && !notFound(err)) throw err;
            });
        return overtakenBy(current?.row, m);
      }),
    );
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

  private async next(scope: string): Promise<number> {
    const key = rowKey(scope);
    for (let attempt = 0; attempt < MAX_CAS; attempt++) {
      try {
        const e = await this.client.getEntity<{ issued: unknown }>('fencetoken', key);
        const issued = int64(e.issued) + 1;
        await this.client.updateEntity(
          { partitionKey: 'fencetoken', rowKey: key, issued: { value: String(issued), type: 'Int64' } },
          'Replace',
          { etag: e.etag },
        );
        return issued;
      } catch (err) {
        if (notFound(err)) {
          try {
            await this.client.createEntity({
              partitionKey: 'fencetoken',
              rowKey: key,
              issued: { value: '1', type: 'Int64' },
            });
            return 1;
          } catch (created) {
            if (!conflict(created)) throw created;
            continue;
          }
        }
        if (!conflict(err)) throw err;
      }
    }
    throw new Error(`the fence's token for ${scope} kept changing under other instances; retry`);
  }

  private async claimOne(c: FenceClaim): Promise<ClaimVerdict> {
    for (let attempt = 0; attempt < MAX_CAS; attempt++) {
      const current = await this.row(c.key);
      const v = verdict(current?.row, c);
      if (v !== 'won') return v;
      const next = rowOf(c, Date.now(), current?.row);
      const entity = {
        partitionKey: 'fence',
        rowKey: rowKey(c.key),
        claimed: { value: String(next.claimed), type: 'Int64' as const },
        winner: { value: String(next.winner), type: 'Int64' as const },
        gone: c.gone,
        carried: c.carried,
        settled: false,
        ...(c.version !== undefined ? { version: { value: String(c.version), type: 'Int64' as const } } : {}),
        at: { value: String(Date.now()), type: 'Int64' as const },
      };
      try {
        if (current) await this.client.updateEntity(entity, 'Replace', { etag: current.etag });
        else await this.client.createEntity(entity);
        return 'won';
      } catch (err) {
        if (!conflict(err)) throw err;
      }
    }
    throw new Error(`the fence row of ${c.key} kept changing under other instances; retry`);
  }

  private async row(key: string): Promise<{ row: FenceRow; etag: string } | undefined> {
    try {
      const e = await this.client.getEntity<RowEntity>('fence', rowKey(key));
      return {
        row: {
          claimed: int64(e.claimed),
          winner: e.winner === undefined || e.winner === null ? int64(e.claimed) : int64(e.winner),
          gone: e.gone,
          version: e.version === undefined || e.version === null ? undefined : int64(e.version),
          carried: e.carried === true,
          settled: e.settled === true,
          at: int64(e.at),
        },
        etag: e.etag,
      };
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }
}
