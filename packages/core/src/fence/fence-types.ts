/**
 * The per-key fence: what makes the latest observation of an item win in Kafka, across instances.
 *
 * A token is taken before Graph is read (`begin`), so token order is the order in which reads started: a read
 * that started after an item's last change sees that change, and carries a higher token than every read that
 * started before it. Before a record is produced its key is claimed with its token (`claim`): a record whose
 * token is not newer than the key's last claim is stale and never produced. After Kafka acknowledged, the
 * keys are checked once more (`overtaken`): a newer claim made meanwhile may have landed before ours, so the
 * key is read again (a repair), which ends with a record of the newest read last.
 */
export interface KeyFence {
  /** One token per scope (a mailbox and kind, or a tenant's directory kind), newer than any issued before. */
  begin(scopes: readonly string[]): Promise<Map<string, number>>;
  /** One verdict per claim, in order; at most one claim per key wins within one call. */
  claim(claims: readonly FenceClaim[]): Promise<ClaimVerdict[]>;
  /**
   * After Kafka acknowledged: marks each claim's record as in Kafka (settled) while it is still the key's last
   * claim, and says per claim whether the key has been claimed by a newer read since (its record may have landed
   * first), unless both were absences (then the key ends in a tombstone whichever landed last).
   */
  overtaken(claims: readonly FenceMark[]): Promise<boolean[]>;
  /**
   * Forgets keys last claimed before `before`, and keys whose last claim was an absence before `goneBefore` (the
   * timer): by then no record of theirs is still in flight. Stops at `deadline` (ms); how many went.
   */
  prune(before: Date, goneBefore: Date, deadline: number): Promise<number>;
}

export interface FenceMark {
  /** The record key (tenant/mailbox/…/item): the fence is per Kafka key. */
  key: string;
  token: number;
  /** The record was a tombstone: a newer absence then changes nothing, and no re-read is owed. */
  gone?: boolean;
}

export interface FenceClaim extends FenceMark {
  /** The record confirms the item is gone (it ends in a tombstone). */
  gone: boolean;
  /** Graph's own version of the item (`lastModifiedDateTime`, ms), where the item has one. */
  version: number | undefined;
  /**
   * The item came inside a notification (rich) rather than from a read made now: it may be older than its
   * token says (Graph retries a POST for hours). It never undoes a confirmed absence nor replaces a newer
   * version; when it loses, a read decides.
   */
  carried: boolean;
}

/**
 * `won`: produce it. `stale`: a newer observation of the key is in Kafka; drop the record. `reread`: drop it
 * and read the item again — a carried item that lost (only a read can tell what is current), or a newer claim
 * whose record is not in Kafka yet (it may never be).
 */
export type ClaimVerdict = 'won' | 'stale' | 'reread';

/** The state kept per key. */
export interface FenceRow {
  /** The newest token that won the key (a read ordered by version may win with an older token than a carried item's). */
  claimed: number;
  /** The token of the last claim that won: the record the key should end with. */
  winner: number;
  gone: boolean;
  version: number | undefined;
  /** The last winner was a carried item (see `FenceClaim.carried`). */
  carried: boolean;
  /**
   * The last winner's record is in Kafka (its post-ack check ran). Until then an older claim is not simply
   * dropped: the winner may still fail (Kafka down, and a duplicate delivery's 503 that nobody retries), so the
   * older claim's key is read again instead.
   */
  settled: boolean;
  at: number;
}

/** The fence's scope of a record: tokens are comparable within it (tenant, kind and mailbox). */
export const fenceScope = (tenantId: string, kind: string, userId: string | undefined): string =>
  `${tenantId.toLowerCase()}|${kind}|${(userId ?? '').toLowerCase()}`;

/** Graph's version of an item: its `lastModifiedDateTime` in ms, when it has a readable one. */
export function itemVersion(item: Record<string, unknown> | null): number | undefined {
  const v = item?.lastModifiedDateTime;
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whether a mark's key was overtaken, given the key's row: another claim won since, and not two absences. */
export const overtakenBy = (row: { winner: number; gone: boolean } | undefined, mark: FenceMark): boolean =>
  !!row && row.winner !== mark.token && !(mark.gone && row.gone);
