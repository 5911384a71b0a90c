import type { DeadLetterValue } from '../model/record.ts';

export interface DeadLetter {
  partition: number;
  offset: string;
  value: DeadLetterValue;
}

/**
 * Why a replay skipped a letter without reading anything for it. A letter is only a claim: whoever can write to
 * the dead-letter topic can write one, so it is replayed only for a target graph2kafka subscribes to now.
 */
export type RefusalReason =
  /** Not a dead letter of any version: a field is missing or of the wrong type. */
  | 'malformed'
  /** Signed, and the signature is not one of G2K_DEAD_LETTER_KEY's (or the previous key's). */
  | 'bad_signature'
  /** Unsigned, in a replay that accepts signed letters only (`--signed-only`). */
  | 'unsigned'
  /** The tenant is not one whose notifications are accepted (G2K_ALLOWED_TENANTS). */
  | 'tenant_not_allowed'
  /** The mailbox or item id is not one Graph issues for the kind (the receiver's rules). */
  | 'invalid_item'
  /** No stored subscription of the kind watches the mailbox (or the tenant, for directory kinds). */
  | 'not_subscribed'
  /** The mailbox's kind is subscribed, but only in other folders than the one the letter names. */
  | 'folder_not_subscribed'
  /** A subscription is still stored, but the desired state no longer names the target. */
  | 'not_desired';

/** One letter a replay skipped: where it is, what it named, and what to do about it. */
export interface LetterRefusal {
  /** `partition:offset` in the dead-letter topic. */
  at: string;
  reason: RefusalReason;
  /** One sentence for the operator: what the letter named, why it is not replayed, what to do. */
  message: string;
}

export interface ReplayReport {
  replayed: number;
  /** Refused again (still too large for the broker, say): written to the dead-letter topic once more. */
  deadLetteredAgain: number;
  /** Skipped without a Graph read or a record: letters for no target graph2kafka subscribes to now. */
  refused: LetterRefusal[];
  /** The first letter that could not be stored for a passing reason; the replay stopped there. */
  stoppedAt: string | undefined;
}
