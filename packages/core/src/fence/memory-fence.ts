import { lastPerKey, OUTSTOOD, rowOf, verdict } from './fence-rules.ts';
import {
  overtakenBy,
  type ClaimVerdict,
  type FenceClaim,
  type FenceMark,
  type FenceRow,
  type KeyFence,
} from './fence-types.ts';

/**
 * The fence in this process's memory: for the file state store (local development, one instance). Instances
 * that share nothing but a folder do not share it, and a restart starts it afresh (nothing is in flight then).
 */
export class MemoryKeyFence implements KeyFence {
  private readonly rows = new Map<string, FenceRow>();
  private issued = 0;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  begin(scopes: readonly string[]): Promise<Map<string, number>> {
    const token = ++this.issued;
    return Promise.resolve(new Map(scopes.map((s) => [s, token])));
  }

  claim(claims: readonly FenceClaim[]): Promise<ClaimVerdict[]> {
    const last = lastPerKey(claims);
    return Promise.resolve(
      claims.map((c, i) => {
        if (last.get(c.key) !== i) return OUTSTOOD;
        const row = this.rows.get(c.key);
        const v = verdict(row, c);
        if (v === 'won') this.rows.set(c.key, rowOf(c, this.now(), row));
        return v;
      }),
    );
  }

  overtaken(marks: readonly FenceMark[]): Promise<boolean[]> {
    return Promise.resolve(
      marks.map((m) => {
        const row = this.rows.get(m.key);
        if (row && row.winner === m.token) row.settled = true;
        return overtakenBy(row, m);
      }),
    );
  }

  prune(before: Date, goneBefore: Date): Promise<number> {
    let pruned = 0;
    for (const [key, row] of this.rows)
      if (row.at < (row.gone ? goneBefore : before).getTime()) {
        this.rows.delete(key);
        pruned++;
      }
    return Promise.resolve(pruned);
  }
}
