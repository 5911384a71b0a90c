import { createHash } from 'node:crypto';
import type { KindName } from '../kinds/index.ts';
import type { ChangeRecordFacts } from '../model/record.ts';

/**
 * CloudEvents 1.0 attributes in the Kafka protocol binding's binary mode: `ce_*` headers beside graph2kafka's own,
 * the value left as it is (so a reader that ignores them reads what it read before) and a null value still a
 * tombstone. Types, source and subject are those Azure Event Grid gives Graph's own events
 * (learn.microsoft.com/azure/event-grid/outlook-events, …/microsoft-entra-events), so a router written for Event
 * Grid's Graph events routes these alike.
 */
export const CE_SPEC_VERSION = '1.0';

/** The noun of Event Grid's type and subject per kind: `Microsoft.Graph.EventCreated`, `Events/{id}`. */
const NOUN: Readonly<Record<KindName, string>> = {
  events: 'Event',
  messages: 'Message',
  contacts: 'Contact',
  users: 'User',
  groups: 'Group',
  // Event Grid has no Teams events; these follow its pattern (`Microsoft.Graph.ChatMessageCreated`).
  channelMessages: 'ChannelMessage',
  chatMessages: 'ChatMessage',
  chats: 'Chat',
};

/** Event Grid's `/tenants/{tenant id}/applications/{app id}`: the app is the registration that subscribed. */
export const ceSource = (tenantId: string, appId: string): string => `/tenants/${tenantId}/applications/${appId}`;

/** Event Grid's subject of an item: `Events/{id}`, `Messages/{id}`, `Users/{id}`, … */
export const ceSubject = (kind: KindName, itemId: string): string => `${NOUN[kind]}s/${itemId}`;

/**
 * Event Grid's type for Graph's change type. Entra ID has no `UserCreated`/`GroupCreated` (Graph reports a
 * creation as `updated`, Event Grid's docs say), so a directory `created` — which Graph does not send today —
 * maps to `Updated` rather than to a type no Event Grid consumer knows.
 */
export function ceType(kind: KindName, changeType: ChangeRecordFacts['changeType']): string {
  const directory = kind === 'users' || kind === 'groups';
  const verb = changeType === 'deleted' ? 'Deleted' : changeType === 'created' && !directory ? 'Created' : 'Updated';
  return `Microsoft.Graph.${NOUN[kind]}${verb}`;
}

/**
 * A record's id: Graph's notification id when the record answers one (Graph keeps it across its redeliveries),
 * else a digest of what makes the record itself: its key, its path (`source`), the change type and the item's
 * version (changeKey, else lastModifiedDateTime, else a digest of the item; for no item, why there is none). So a
 * retry that writes the same record again has the same id (a consumer deduplicates on it), and two records of
 * a key that say different things do not.
 */
export function ceId(key: string, facts: ChangeRecordFacts, item: Record<string, unknown> | null): string {
  if (facts.notificationId) return facts.notificationId;
  return `g2k-${digest([key, facts.source, facts.changeType, itemVersion(facts, item)])}`;
}

/** A tombstone's id: its value record's, marked, since the two are different records of one change. */
export const tombstoneCeId = (valueId: string): string => `${valueId}.tombstone`;

function itemVersion(facts: ChangeRecordFacts, item: Record<string, unknown> | null): string {
  if (!item) return facts.gone ? 'gone' : `absent:${facts.notEnrichedReason ?? ''}:${String(facts.deleteConfirmed)}`;
  if (typeof item.changeKey === 'string' && item.changeKey) return `changeKey:${item.changeKey}`;
  if (typeof item.lastModifiedDateTime === 'string' && item.lastModifiedDateTime)
    return `lastModified:${item.lastModifiedDateTime}`;
  // Directory objects carry no version: their content is it (members included).
  return `content:${digest([JSON.stringify(item)])}`;
}

/** 128 bits of SHA-256 over the parts, unambiguously joined, in base64url (22 characters). */
const digest = (parts: string[]): string =>
  createHash('sha256')
    .update(parts.map((p) => `${p.length}:${p}`).join('|'))
    .digest()
    .subarray(0, 16)
    .toString('base64url');

/** graph2kafka's own types for what Event Grid's Graph events have none of (its docs list change types only). */
export const LIFECYCLE_CE_TYPE_PREFIX = 'graph2kafka.lifecycle.';
export const DEAD_LETTER_CE_TYPE = 'graph2kafka.deadletter';
