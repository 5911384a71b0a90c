/** Why an item of a POST was counted and skipped: not ours, not Graph's, or not something we can act on. */
export type Rejection =
  | 'malformed'
  | 'unsupported_change_type'
  | 'unknown_resource'
  | 'resource_mismatch'
  | 'unknown_subscription'
  | 'client_state_mismatch'
  | 'tenant_not_allowed'
  | 'tenant_mismatch'
  | 'lookup_limit'
  /** A rich notification whose encrypted content fails its signature or does not decrypt: tampered. */
  | 'rich_content_invalid';

export const REJECTIONS: readonly Rejection[] = [
  'malformed',
  'unsupported_change_type',
  'unknown_resource',
  'resource_mismatch',
  'unknown_subscription',
  'client_state_mismatch',
  'tenant_not_allowed',
  'tenant_mismatch',
  'lookup_limit',
  'rich_content_invalid',
];

/**
 * What became of one item of `value`. The HTTP answer is computed once from these: 503 when any item of ours
 * is `retry_later`, 202 otherwise.
 */
export type ItemOutcome =
  /** Durably in Kafka; `reduced` lists the properties dropped to fit the record size limit. */
  | { status: 'produced'; reduced?: string[] }
  | { status: 'rejected'; reason: Rejection }
  /** Ours, but Kafka refused it permanently even reduced: the raw notification is in the dead-letter topic. */
  | { status: 'dead_lettered'; reason: string }
  /** Ours, not stored for a reason a retry can fix (Kafka down, a delete not yet confirmed): Graph redelivers. */
  | { status: 'retry_later'; reason: string };
