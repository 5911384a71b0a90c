import { itemIdOf, KINDS, type KindName, type ResourceKind, type Target } from '../kinds/index.ts';
import type { LifecycleNotification, VerifiedChange } from './change.ts';
import type { FetchOutcome } from './item-read.ts';

/** The header a signed dead letter carries: `hmac-sha256=` and the MAC of the value's bytes, base64url. */
export const SIGNATURE_HEADER = 'g2k-signature';

export const RECORD_SCHEMA_VERSION = 1;

/**
 * Which path produced a record: a notification, a delta resync (also the periodic sweep), a repair of an
 * unenriched record, the expansion of a recurring series into its occurrences, or the snapshot of a newly
 * subscribed target's existing items.
 */
export type RecordSource = 'notification' | 'resync' | 'repair' | 'expansion' | 'snapshot';

/** What every change record's value says, whatever the kind; documented in docs/record-format.md. */
export interface ChangeRecordFacts {
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  /** The resource kind (`events`, `messages`, `contacts`); its topic, key and item field follow from it. */
  kind: KindName;
  source: RecordSource;
  changeType: 'created' | 'updated' | 'deleted';
  tenantId: string;
  /** The mailbox (lower-case object id). */
  userId: string;
  resource: string;
  subscriptionId: string;
  notificationId: string | null;
  subscriptionExpirationDateTime: string | null;
  receivedAt: string;
  enriched: boolean;
  notEnrichedReason: string | null;
  /** Graph answered 404 with the kind's "no such item" code: the item no longer exists. */
  gone: boolean;
  /**
   * For a `deleted`: true when Graph confirmed the item is gone (a tombstone follows), false when Graph still
   * has it (no tombstone; a message moved out of a watched folder is such a case), null while not known yet
   * (Graph did not answer; a repair record settles it). Null for creates and updates.
   */
  deleteConfirmed: boolean | null;
  /** Properties of the item left out to keep the record under the size limit; null when nothing was. */
  reducedProperties: string[] | null;
  /**
   * Present (true) only on a folder or calendar subscription's record of an item found outside it (a message
   * moved to another folder, an event to another calendar): the item then holds just its id and where it is now.
   */
  outsideFolder?: true;
  /** Present only on an occurrence record (`source: "expansion"`): the id of its series master. */
  seriesMasterId?: string;
  /** Present (true) only when the item came inside a rich notification, decrypted, without a Graph read. */
  fromNotification?: true;
  /** Graph still has the item but marks it deleted (a Teams message's `deletedDateTime`): no tombstone. */
  softDeleted?: true;
}

export interface KafkaRecord {
  key: string;
  value: string | null;
  headers: Record<string, string>;
}

/** The bytes a record takes in a produce request, near enough to keep under a broker's limit. */
export function recordBytes(r: KafkaRecord): number {
  let n = Buffer.byteLength(r.key) + (r.value === null ? 0 : Buffer.byteLength(r.value)) + 64;
  for (const [k, v] of Object.entries(r.headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 8;
  return n;
}

/** A change as produced (its facts, the item read, the Kafka records), so it can be rebuilt smaller. */
export interface ChangeRecords {
  kind: ResourceKind;
  target: Target;
  itemId: string;
  facts: ChangeRecordFacts;
  item: Record<string, unknown> | null;
  tombstone: boolean;
  /** The value as written, with the kind's own id and item field names. */
  value: Record<string, unknown>;
  records: KafkaRecord[];
}

function valueOf(c: Omit<ChangeRecords, 'value' | 'records'>): Record<string, unknown> {
  const { schemaVersion, kind, source, changeType, tenantId, userId, resource, ...rest } = c.facts;
  return {
    schemaVersion,
    kind,
    source,
    changeType,
    tenantId,
    // A directory object belongs to the tenant, not to a mailbox.
    ...(c.kind.scope === 'mailbox' ? { userId } : {}),
    ...(c.kind.idFields ? c.kind.idFields.of(c.itemId) : { [c.kind.idField]: c.itemId }),
    ...(c.target.folderId && !c.kind.idFields
      ? { [c.kind.container?.recordField ?? 'folderId']: c.target.folderId }
      : {}),
    resource,
    ...rest,
    [c.kind.itemField]: c.item,
  };
}

/** The value record, then for a confirmed delete a null-value tombstone with the same key. */
function built(c: Omit<ChangeRecords, 'value' | 'records'>): ChangeRecords {
  const f = c.facts;
  const key = c.kind.recordKey(f.tenantId, c.target, c.itemId);
  const headers: Record<string, string> = {
    'g2k-schema-version': String(RECORD_SCHEMA_VERSION),
    'g2k-kind': c.kind.name,
    'g2k-source': f.source,
    'g2k-change-type': f.changeType,
    'g2k-subscription-id': f.subscriptionId,
    'g2k-tenant-id': f.tenantId,
    'g2k-enriched': String(f.enriched),
    ...(f.notificationId ? { 'g2k-notification-id': f.notificationId } : {}),
    ...(f.reducedProperties ? { 'g2k-reduced': f.reducedProperties.join(',') } : {}),
    ...(f.seriesMasterId ? { 'g2k-series-master-id': f.seriesMasterId } : {}),
    ...(f.softDeleted ? { 'g2k-soft-deleted': 'true' } : {}),
    ...versionHeaders(c.item),
    'content-type': 'application/json',
  };
  const value = valueOf(c);
  const records: KafkaRecord[] = [{ key, value: JSON.stringify(value), headers }];
  if (c.tombstone) {
    const { 'content-type': _json, 'g2k-reduced': _reduced, ...tombstoneHeaders } = headers;
    records.push({ key, value: null, headers: { ...tombstoneHeaders, 'g2k-tombstone': 'true' } });
  }
  return { ...c, value, records };
}

/**
 * The item's own version, where the kind has one (Outlook items; directory objects have neither): Microsoft's
 * advice for duplicate notifications is "id + changeKey", and a consumer reads it here without parsing the value.
 */
function versionHeaders(item: Record<string, unknown> | null): Record<string, string> {
  const changeKey = item?.changeKey;
  const lastModified = item?.lastModifiedDateTime;
  return {
    ...(typeof changeKey === 'string' && changeKey ? { 'g2k-change-key': changeKey } : {}),
    ...(typeof lastModified === 'string' && lastModified ? { 'g2k-last-modified': lastModified } : {}),
  };
}

/** What a record says about the change, whichever path (notification, resync, repair) produced it. */
export interface ChangeInput {
  source: ChangeRecordFacts['source'];
  changeType: ChangeRecordFacts['changeType'];
  kind: KindName;
  tenantId: string;
  target: Target;
  itemId: string;
  resource: string;
  subscriptionId: string;
  notificationId?: string | undefined;
  subscriptionExpirationDateTime?: string | undefined;
  /** An occurrence's series master (expansion records). */
  seriesMasterId?: string | undefined;
}

/**
 * The record(s) of a change and what reading the item gave. Every confirmed absence (404 with the kind's gone
 * code, or a delta removal that means gone) ends in a tombstone, whatever the change said: a `created` read
 * after the item was deleted must not leave a live `gone` value behind. A `deleted` that Graph has not
 * confirmed gets none: it is otherwise only somebody's claim.
 */
export function changeRecords(change: ChangeInput, outcome: FetchOutcome, at: number): ChangeRecords {
  const kind = KINDS[change.kind];
  const facts: ChangeRecordFacts = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    kind: kind.name,
    source: change.source,
    changeType: change.changeType,
    tenantId: change.tenantId.toLowerCase(),
    userId: (change.target.userId ?? '').toLowerCase(),
    resource: change.resource,
    subscriptionId: change.subscriptionId,
    notificationId: change.notificationId ?? null,
    subscriptionExpirationDateTime: change.subscriptionExpirationDateTime ?? null,
    receivedAt: new Date(at).toISOString(),
    enriched: outcome.kind === 'found',
    notEnrichedReason: outcome.kind === 'failed' ? outcome.reason : null,
    gone: outcome.kind === 'gone',
    deleteConfirmed: confirmation(change.changeType, outcome),
    reducedProperties: outcome.kind === 'found' && outcome.omitted?.length ? outcome.omitted : null,
    ...(outcome.kind === 'found' && outcome.outside ? { outsideFolder: true as const } : {}),
    ...(change.seriesMasterId ? { seriesMasterId: change.seriesMasterId } : {}),
    ...(outcome.kind === 'found' && outcome.fromNotification ? { fromNotification: true as const } : {}),
    ...(outcome.kind === 'found' && kind.softDeleted?.(outcome.item) ? { softDeleted: true as const } : {}),
  };
  return built({
    kind,
    target: { ...change.target, userId: facts.userId },
    itemId: change.itemId,
    facts,
    item: outcome.kind === 'found' ? outcome.item : null,
    tombstone: outcome.kind === 'gone',
  });
}

/** The record(s) for one verified notification. */
export function notificationRecords(n: VerifiedChange, outcome: FetchOutcome, receivedAt: number): ChangeRecords {
  return changeRecords({ ...n, source: 'notification', notificationId: n.id }, outcome, receivedAt);
}

function confirmation(changeType: ChangeRecordFacts['changeType'], outcome: FetchOutcome): boolean | null {
  if (changeType !== 'deleted' || outcome.kind === 'failed') return null;
  return outcome.kind === 'gone';
}

/**
 * The same records with the kind's large properties left out, one at a time, until `fits` accepts them (every
 * record under the size limit, as the configured format writes it); undefined when even without all of them it
 * does not (or there is no item to reduce). What identifies the item is never dropped.
 */
export function reduceRecords(
  original: ChangeRecords,
  fits: (candidate: ChangeRecords) => boolean,
): ChangeRecords | undefined {
  if (!original.item) return undefined;
  const remaining = { ...original.item };
  const dropped: string[] = [];
  for (const property of original.kind.reducible) {
    if (!(property in remaining)) continue;
    delete remaining[property];
    dropped.push(property);
    const candidate = built({
      ...original,
      item: remaining,
      facts: { ...original.facts, reducedProperties: [...dropped] },
    });
    if (fits(candidate)) return candidate;
  }
  return undefined;
}

export interface LifecycleRecordValue {
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  lifecycleEvent: LifecycleNotification['lifecycleEvent'];
  tenantId: string;
  subscriptionId: string;
  subscriptionExpirationDateTime: string | null;
  receivedAt: string;
}

export const lifecycleValue = (n: LifecycleNotification, receivedAt: number): LifecycleRecordValue => ({
  schemaVersion: RECORD_SCHEMA_VERSION,
  lifecycleEvent: n.lifecycleEvent,
  tenantId: n.tenantId,
  subscriptionId: n.subscriptionId,
  subscriptionExpirationDateTime: n.subscriptionExpirationDateTime ?? null,
  receivedAt: new Date(receivedAt).toISOString(),
});

export function lifecycleRecord(n: LifecycleNotification, receivedAt: number): KafkaRecord {
  const value = lifecycleValue(n, receivedAt);
  return {
    key: `${n.tenantId}/${n.subscriptionId}`,
    value: JSON.stringify(value),
    headers: {
      'g2k-schema-version': String(RECORD_SCHEMA_VERSION),
      'g2k-lifecycle-event': n.lifecycleEvent,
      'g2k-subscription-id': n.subscriptionId,
      'g2k-tenant-id': n.tenantId,
      'content-type': 'application/json',
    },
  };
}

/**
 * Records for one item of a delta resync: the item as it is now, or its removal. A removal is confirmed (and
 * tombstoned) only where the kind says delta's `@removed` means gone; otherwise the caller read it first and
 * passes what the read said.
 */
export function resyncRecords(
  change: Omit<ChangeInput, 'source' | 'changeType' | 'resource' | 'itemId'>,
  item: Record<string, unknown>,
  confirmed: FetchOutcome | undefined,
  receivedAt: number,
  source: 'resync' | 'snapshot' = 'resync',
): ChangeRecords {
  const kind = KINDS[change.kind];
  const itemId = itemIdOf(kind, change.target, item);
  const removed = item['@removed'] !== undefined;
  const outcome: FetchOutcome = confirmed ?? (removed ? { kind: 'gone' } : { kind: 'found', item });
  return changeRecords(
    {
      ...change,
      source,
      changeType: removed && outcome.kind === 'gone' ? 'deleted' : 'updated',
      itemId,
      resource: kind.itemResource(change.target, itemId),
    },
    outcome,
    receivedAt,
  );
}

/** The value of a dead-letter record: what Kafka refused even reduced, with the raw input to replay it. */
export interface DeadLetterValue {
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  reason: string;
  error: string;
  kind: KindName;
  source: RecordSource;
  topic: string;
  key: string;
  tenantId: string;
  userId: string;
  folderId?: string;
  /** The item's id; dead letters written before kinds existed name it `eventId`. */
  itemId: string;
  eventId?: string;
  subscriptionId: string;
  changeType: string;
  receivedAt: string;
  deadLetteredAt: string;
  /** The notification as Graph sent it (null for resync items, whose item Graph returns again on replay). */
  notification: Record<string, unknown> | null;
}

export function deadLetterRecord(
  original: ChangeRecords,
  topic: string,
  reason: string,
  error: string,
  notification: Record<string, unknown> | null,
  now: number,
  /** Signs the value (G2K_DEAD_LETTER_KEY): the `g2k-signature` header a replay checks. */
  sign?: (value: string) => string,
): KafkaRecord {
  const f = original.facts;
  const key = original.records[0]!.key;
  const value: DeadLetterValue = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    reason,
    error: error.slice(0, 1_000),
    kind: f.kind,
    source: f.source,
    topic,
    key,
    tenantId: f.tenantId,
    userId: f.userId,
    ...(original.target.folderId ? { folderId: original.target.folderId } : {}),
    itemId: original.itemId,
    ...(f.kind === 'events' ? { eventId: original.itemId } : {}),
    subscriptionId: f.subscriptionId,
    changeType: f.changeType,
    receivedAt: f.receivedAt,
    deadLetteredAt: new Date(now).toISOString(),
    notification,
  };
  const text = JSON.stringify(value);
  return {
    key,
    value: text,
    headers: {
      'g2k-schema-version': String(RECORD_SCHEMA_VERSION),
      'g2k-dead-letter-reason': reason,
      'g2k-kind': f.kind,
      'g2k-source': f.source,
      'g2k-tenant-id': f.tenantId,
      'content-type': 'application/json',
      ...(sign ? { [SIGNATURE_HEADER]: sign(text) } : {}),
    },
  };
}
