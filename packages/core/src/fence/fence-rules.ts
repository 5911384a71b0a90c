import type { ClaimVerdict, FenceClaim, FenceRow } from './fence-types.ts';

/**
 * The fence's one rule, shared by every backend that evaluates it in code (the in-memory and Table Storage
 * fences; PostgreSQL states the same rule in SQL): whether `claim` may replace what the key holds.
 */
export function verdict(row: FenceRow | undefined, claim: FenceClaim): ClaimVerdict {
  if (!row) return 'won';
  if (claim.carried) {
    if (row.gone) return 'reread';
    if (row.version !== undefined && claim.version !== undefined && claim.version < row.version) return 'stale';
    return claim.token > row.claimed ? 'won' : 'reread';
  }
  return claim.token > row.claimed ? 'won' : 'stale';
}

/**
 * Within one call a key is claimed once: the claim with the newest token (of equal ones the last: delta pages
 * and POSTs list a key's changes in order) is the one tried; the others are stale. Per key, the index tried.
 */
export function lastPerKey(claims: readonly FenceClaim[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const [i, c] of claims.entries()) {
    const j = last.get(c.key);
    if (j === undefined || c.token >= claims[j]!.token) last.set(c.key, i);
  }
  return last;
}

export const rowOf = (claim: FenceClaim, at: number): FenceRow => ({
  claimed: claim.token,
  gone: claim.gone,
  version: claim.version,
  at,
});
