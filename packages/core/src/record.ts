import type { FetchOutcome } from './graph/event-fetcher.ts';
import type { LifecycleNotification, VerifiedChange } from './receive/notification.ts';
import type { RepairEntry } from './state/subscription-store.ts';

export const RECORD_SCHEMA_VERSION = 1;

/** The value of an event record; documented in docs/record-format.md. */
export interface EventRecordValue {
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  source: 'notification' | 'resync' | 'repair';
  changeType: 'created' | 'updated' | 'deleted';
  tenantId: string;
  userId: string;
  eventId: string;
  resource: string;
  subscriptionId: string;
  notificationId: string | null;
  subscriptionExpirationDateTime: string | null;
  receivedAt: string;
  enriched: boolean;
  notEnrichedReason: string | null;
  /** Graph answered 404 ErrorItemNotFound: the event no longer exists. */
  gone: boolean;
  /**
   * For a `deleted`: true when Graph confirmed the event is gone (a tombstone follows), false when Graph still
   * has it (no tombstone), null while not known yet (Graph did not answer; a repair record settles it).
   * Null for creates and updates.
   */
  deleteConfirmed: boolean | null;
  /** Properties of `event` left out to keep the record under the size limit; null when nothing was. */
  reducedProperties: string[] | null;
  event: Record<string, unknown> | null;
}

export interface KafkaRecord {
  key: string;
  value: string | null;
  headers: Record<string, string>;
}

/** The stable identity of an event across its changes: compacted topics keep the latest record per key. */
export const eventKey = (tenantId: string, userId: string, eventId: string): string =>
  `${tenantId.toLowerCase()}/${userId.toLowerCase()}/${eventId}`;

/** The bytes a record takes in a produce request, near enough to keep under a broker's limit. */
export function recordBytes(r: KafkaRecord): number {
  let n = Buffer.byteLength(r.key) + (r.value === null ? 0 : Buffer.byteLength(r.value)) + 64;
  for (const [k, v] of Object.entries(r.headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 8;
  return n;
}

/** The value record, then for a confirmed delete a null-value tombstone with the same key. */
function eventRecordsOf(value: EventRecordValue, tombstone: boolean): KafkaRecord[] {
  const key = eventKey(value.tenantId, value.userId, value.eventId);
  const headers: Record<string, string> = {
    'g2k-schema-version': String(RECORD_SCHEMA_VERSION),
    'g2k-source': value.source,
    'g2k-change-type': value.changeType,
    'g2k-subscription-id': value.subscriptionId,
    'g2k-tenant-id': value.tenantId,
    'g2k-enriched': String(value.enriched),
    ...(value.notificationId ? { 'g2k-notification-id': value.notificationId } : {}),
    ...(value.reducedProperties ? { 'g2k-reduced': value.reducedProperties.join(',') } : {}),
    'content-type': 'application/json',
  };
  const records: KafkaRecord[] = [{ key, value: JSON.stringify(value), headers }];
  if (tombstone) {
    const { 'content-type': _json, 'g2k-reduced': _reduced, ...tombstoneHeaders } = headers;
    records.push({ key, value: null, headers: { ...tombstoneHeaders, 'g2k-tombstone': 'true' } });
  }
  return records;
}

/** An event record as produced, so it can be rebuilt smaller (see `reduceEventRecords`). */
export interface EventRecords {
  value: EventRecordValue;
  tombstone: boolean;
  records: KafkaRecord[];
}

const built = (value: EventRecordValue, tombstone: boolean): EventRecords => ({
  value,
  tombstone,
  records: eventRecordsOf(value, tombstone),
});

/** What a record says about the change, whichever path (notification, resync, repair) produced it. */
interface ChangeFacts {
  source: EventRecordValue['source'];
  changeType: EventRecordValue['changeType'];
  tenantId: string;
  userId: string;
  eventId: string;
  resource: string;
  subscriptionId: string;
  notificationId?: string | undefined;
  subscriptionExpirationDateTime?: string | undefined;
}

/**
 * The record(s) of a change and what reading the event gave. A delete gets its tombstone only once Graph
 * confirmed the event is gone (404 ErrorItemNotFound, or delta's `@removed`): a `deleted` is otherwise only
 * somebody's claim.
 */
function changeRecords(change: ChangeFacts, outcome: FetchOutcome, at: number): EventRecords {
  const value: EventRecordValue = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    source: change.source,
    changeType: change.changeType,
    tenantId: change.tenantId.toLowerCase(),
    userId: change.userId.toLowerCase(),
    eventId: change.eventId,
    resource: change.resource,
    subscriptionId: change.subscriptionId,
    notificationId: change.notificationId ?? null,
    subscriptionExpirationDateTime: change.subscriptionExpirationDateTime ?? null,
    receivedAt: new Date(at).toISOString(),
    enriched: outcome.kind === 'found',
    notEnrichedReason: outcome.kind === 'failed' ? outcome.reason : null,
    gone: outcome.kind === 'gone',
    deleteConfirmed: confirmation(change.changeType, outcome),
    reducedProperties: null,
    event: outcome.kind === 'found' ? outcome.event : null,
  };
  return built(value, change.changeType === 'deleted' && outcome.kind === 'gone');
}

/** The record(s) for one verified notification. */
export function eventRecords(n: VerifiedChange, outcome: FetchOutcome, receivedAt: number): EventRecords {
  return changeRecords(
    {
      ...n,
      source: 'notification',
      notificationId: n.id,
    },
    outcome,
    receivedAt,
  );
}

function confirmation(changeType: EventRecordValue['changeType'], outcome: FetchOutcome): boolean | null {
  if (changeType !== 'deleted' || outcome.kind === 'failed') return null;
  return outcome.kind === 'gone';
}

/**
 * Event properties that can be large (an invitation's HTML body, long attendee lists), in the order they are
 * left out when a record does not fit. What identifies and schedules the event is never dropped.
 */
const REDUCIBLE = [
  'body',
  'uniqueBody',
  'attachments',
  'extensions',
  'singleValueExtendedProperties',
  'multiValueExtendedProperties',
  'attendees',
  'bodyPreview',
  'locations',
  'onlineMeeting',
];

/**
 * The same records with large event properties left out, one at a time, until every record fits `maxBytes`;
 * undefined when even without all of them it does not (or there is no event to reduce).
 */
export function reduceEventRecords(original: EventRecords, maxBytes: number): EventRecords | undefined {
  const event = original.value.event;
  if (!event) return undefined;
  const remaining = { ...event };
  const dropped: string[] = [];
  for (const property of REDUCIBLE) {
    if (!(property in remaining)) continue;
    delete remaining[property];
    dropped.push(property);
    const candidate = built(
      { ...original.value, event: remaining, reducedProperties: [...dropped] },
      original.tombstone,
    );
    if (candidate.records.every((r) => recordBytes(r) <= maxBytes)) return candidate;
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

export function lifecycleRecord(n: LifecycleNotification, receivedAt: number): KafkaRecord {
  const value: LifecycleRecordValue = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    lifecycleEvent: n.lifecycleEvent,
    tenantId: n.tenantId,
    subscriptionId: n.subscriptionId,
    subscriptionExpirationDateTime: n.subscriptionExpirationDateTime ?? null,
    receivedAt: new Date(receivedAt).toISOString(),
  };
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

/** Records for one item of a delta resync: the event as it is now, or its removal (+ tombstone). */
export function resyncRecords(
  tenantId: string,
  userId: string,
  subscriptionId: string,
  item: Record<string, unknown>,
  receivedAt: number,
): EventRecords {
  const eventId = String(item.id);
  const removed = item['@removed'] !== undefined;
  return changeRecords(
    {
      source: 'resync',
      changeType: removed ? 'deleted' : 'updated',
      tenantId,
      userId,
      eventId,
      resource: `Users/${userId}/Events/${eventId}`,
      subscriptionId,
    },
    // Delta itself says what the event is now: no read is needed, and a removal is confirmed.
    removed ? { kind: 'gone' } : { kind: 'found', event: item },
    receivedAt,
  );
}

/**
 * The record that repairs an unenriched one: the event as Graph returns it now (`source: "repair"`), or, when
 * the event is gone by then, a record saying so — with the tombstone when the change was a delete (then
 * confirmed); a create or update of an event gone since gets its tombstone from the delete's own notification.
 */
export function repairRecords(entry: RepairEntry, outcome: FetchOutcome, now: number): EventRecords {
  return changeRecords({ ...entry, source: 'repair' }, outcome, now);
}

/** The value of a dead-letter record: what Kafka refused even reduced, with the raw input to replay it. */
export interface DeadLetterValue {
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  reason: string;
  error: string;
  source: 'notification' | 'resync' | 'repair';
  topic: string;
  key: string;
  tenantId: string;
  userId: string;
  eventId: string;
  subscriptionId: string;
  changeType: string;
  receivedAt: string;
  deadLetteredAt: string;
  /** The notification as Graph sent it (null for resync items, whose event Graph returns again on replay). */
  notification: Record<string, unknown> | null;
}

export function deadLetterRecord(
  original: EventRecords,
  topic: string,
  reason: string,
  error: string,
  notification: Record<string, unknown> | null,
  now: number,
): KafkaRecord {
  const v = original.value;
  const key = eventKey(v.tenantId, v.userId, v.eventId);
  const value: DeadLetterValue = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    reason,
    error: error.slice(0, 1_000),
    source: v.source,
    topic,
    key,
    tenantId: v.tenantId,
    userId: v.userId,
    eventId: v.eventId,
    subscriptionId: v.subscriptionId,
    changeType: v.changeType,
    receivedAt: v.receivedAt,
    deadLetteredAt: new Date(now).toISOString(),
    notification,
  };
  return {
    key,
    value: JSON.stringify(value),
    headers: {
      'g2k-schema-version': String(RECORD_SCHEMA_VERSION),
      'g2k-dead-letter-reason': reason,
      'g2k-source': v.source,
      'g2k-tenant-id': v.tenantId,
      'content-type': 'application/json',
    },
  };
}
