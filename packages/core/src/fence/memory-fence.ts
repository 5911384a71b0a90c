import { lastPerKey, rowOf, verdict } from './fence-rules.ts';
import type { ClaimVerdict, FenceClaim, FenceMark, FenceRow, KeyFence } from './fence-types.ts';

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
        if (last.get(c.key) !== i) return 'stale';
        const v = verdict(this.rows.get(c.key), c);
        if (v === 'won') this.rows.set(c.key, rowOf(c, this.now()));
        return v;
      }),
    );
  }

  overtaken(marks: readonly FenceMark[]): Promise<boolean[]> {
    return Promise.resolve(marks.map((m) => (this.rows.get(m.key)?.claimed ?? 0) > m.token));
  }

  prune(before: Date): Promise<number> {
    let pruned = 0;
    for (const [key, row] of this.rows)
      if (row.at < before.getTime()) {
        this.rows.delete(key);
        pruned++;
      }
    return Promise.resolve(pruned);
  }
}
