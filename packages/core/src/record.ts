import type { FetchOutcome } from './graph/event-fetcher.ts';
import type { ChangeNotification, LifecycleNotification } from './receive/notification.ts';

export const RECORD_SCHEMA_VERSION = 1;

/** The value of an event record; documented in docs/record-format.md. */
export interface EventRecordValue {
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  source: 'notification' | 'resync';
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
  /** Graph answered 404: the event no longer exists (deleted after the notification was sent). */
  gone: boolean;
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

/** The record(s) for one notification: the envelope, plus a null-value tombstone for a delete. */
export function eventRecords(
  n: ChangeNotification,
  outcome: FetchOutcome | 'deleted',
  receivedAt: number,
): KafkaRecord[] {
  const value: EventRecordValue = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    source: 'notification',
    changeType: n.changeType,
    tenantId: n.tenantId,
    userId: n.userId.toLowerCase(),
    eventId: n.eventId,
    resource: n.resource,
    subscriptionId: n.subscriptionId,
    notificationId: n.id ?? null,
    subscriptionExpirationDateTime: n.subscriptionExpirationDateTime ?? null,
    receivedAt: new Date(receivedAt).toISOString(),
    enriched: outcome !== 'deleted' && outcome.kind === 'found',
    notEnrichedReason: outcome !== 'deleted' && outcome.kind === 'failed' ? outcome.reason : null,
    gone: outcome !== 'deleted' && outcome.kind === 'gone',
    event: outcome !== 'deleted' && outcome.kind === 'found' ? outcome.event : null,
  };
  const key = eventKey(n.tenantId, n.userId, n.eventId);
  const headers: Record<string, string> = {
    'g2k-schema-version': String(RECORD_SCHEMA_VERSION),
    'g2k-source': 'notification',
    'g2k-change-type': n.changeType,
    'g2k-subscription-id': n.subscriptionId,
    'g2k-tenant-id': n.tenantId,
    'g2k-enriched': String(value.enriched),
    ...(n.id ? { 'g2k-notification-id': n.id } : {}),
    'content-type': 'application/json',
  };
  const records: KafkaRecord[] = [{ key, value: JSON.stringify(value), headers }];
  if (outcome === 'deleted') {
    const { 'content-type': _json, ...tombstoneHeaders } = headers;
    records.push({ key, value: null, headers: { ...tombstoneHeaders, 'g2k-tombstone': 'true' } });
  }
  return records;
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
): KafkaRecord[] {
  const eventId = String(item.id);
  const removed = item['@removed'] !== undefined;
  const changeType = removed ? 'deleted' : 'updated';
  const value: EventRecordValue = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    source: 'resync',
    changeType,
    tenantId: tenantId.toLowerCase(),
    userId: userId.toLowerCase(),
    eventId,
    resource: `Users/${userId}/Events/${eventId}`,
    subscriptionId,
    notificationId: null,
    subscriptionExpirationDateTime: null,
    receivedAt: new Date(receivedAt).toISOString(),
    enriched: !removed,
    notEnrichedReason: null,
    gone: false,
    event: removed ? null : item,
  };
  const key = eventKey(tenantId, userId, eventId);
  const headers: Record<string, string> = {
    'g2k-schema-version': String(RECORD_SCHEMA_VERSION),
    'g2k-source': 'resync',
    'g2k-change-type': changeType,
    'g2k-subscription-id': subscriptionId,
    'g2k-tenant-id': tenantId.toLowerCase(),
    'g2k-enriched': String(!removed),
    'content-type': 'application/json',
  };
  const records: KafkaRecord[] = [{ key, value: JSON.stringify(value), headers }];
  if (removed) {
    const { 'content-type': _json, ...tombstoneHeaders } = headers;
    records.push({ key, value: null, headers: { ...tombstoneHeaders, 'g2k-tombstone': 'true' } });
  }
  return records;
}
