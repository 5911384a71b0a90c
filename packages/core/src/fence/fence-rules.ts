import type { ClaimVerdict, FenceClaim, FenceRow } from './fence-types.ts';

/**
 * The fence's one rule, shared by every backend that evaluates it in code (the in-memory and Table Storage
 * fences; PostgreSQL states the same rule in SQL): whether `claim` may replace what the key holds.
 *
 * Reads are ordered by their tokens. A carried item (inside a rich notification, no read) is as old as the
 * notification, which Graph may have retried for hours: it never undoes a confirmed absence nor replaces a newer
 * version, and when it loses, a read decides. A read that meets a carried item is ordered by Graph's own version
 * (or wins with an absence), whatever the tokens: the carried item claimed at once, while the read was under way.
 */
export function verdict(row: FenceRow | undefined, claim: FenceClaim): ClaimVerdict {
  if (!row) return 'won';
  // Lost to a record that is in Kafka: dropped. Lost to one still on its way: read again, in case it never lands.
  const lost: ClaimVerdict = row.settled ? 'stale' : 'reread';
  const versions = row.version !== undefined && claim.version !== undefined;
  if (claim.carried) {
    if (row.gone) return 'reread';
    if (versions && claim.version! < row.version!) return lost;
    return claim.token > row.claimed ? 'won' : 'reread';
  }
  if (row.carried) {
    if (claim.gone) return 'won';
    if (versions) return claim.version! >= row.version! ? 'won' : lost;
  }
  return claim.token > row.claimed ? 'won' : lost;
}

/** The verdict of a claim that another claim of its key in the same call stood against (not yet in Kafka). */
export const OUTSTOOD: ClaimVerdict = 'reread';

/**
 * Within one call a key is claimed once: its claims are folded through `verdict` in token order (of equal
 * tokens the later one: delta pages and POSTs list a key's changes in order), and the one left standing is
 * tried against the store; the others are stale. Per key, the index tried.
 */
export function lastPerKey(claims: readonly FenceClaim[]): Map<string, number> {
  const byKey = new Map<string, number[]>();
  for (const [i, c] of claims.entries()) byKey.set(c.key, [...(byKey.get(c.key) ?? []), i]);
  const chosen = new Map<string, number>();
  for (const [key, indices] of byKey) {
    let standing: number | undefined;
    for (const i of [...indices].sort((a, b) => claims[a]!.token - claims[b]!.token || a - b)) {
      const row = standing === undefined ? undefined : { ...rowOf(claims[standing]!, 0), settled: true };
      if (row && claims[i]!.token === row.claimed && !claims[i]!.carried && !row.carried) standing = i;
      // A claim of the same call in place of the standing one: as a settled row would judge it.
      else if (verdict(row, claims[i]!) === 'won') standing = i;
    }
    chosen.set(key, standing ?? indices.at(-1)!);
  }
  return chosen;
}

/** The row a winning claim leaves: the newest token seen stays, so no older read can win after it. */
export const rowOf = (claim: FenceClaim, at: number, previous?: FenceRow): FenceRow => ({
  claimed: Math.max(claim.token, previous?.claimed ?? 0),
  winner: claim.token,
  gone: claim.gone,
  version: claim.version,
  carried: claim.carried,
  settled: false,
  at,
});
