import { contacts } from './contacts.ts';
import { groups, users } from './directory.ts';
import { events } from './events.ts';
import { messages } from './messages.ts';
import { channelMessages, chatMessages, chats } from './teams.ts';
import type { KindName, ResourceKind, Target } from './resource-kind.ts';

export type { ChangeType, DeltaScope, KindName, NamedItem, ResourceKind, Target } from './resource-kind.ts';
export { LISTING_MARGIN_MS } from './resource-kind.ts';

/** Every kind graph2kafka handles. A new kind is one module, listed here. */
export const KINDS: Readonly<Record<KindName, ResourceKind>> = {
  events,
  messages,
  contacts,
  users,
  groups,
  channelMessages,
  chatMessages,
  chats,
};
export const KIND_NAMES = Object.keys(KINDS) as KindName[];

export const isKindName = (name: unknown): name is KindName =>
  typeof name === 'string' && Object.prototype.hasOwnProperty.call(KINDS, name);

/**
 * The kind of a stored subscription. Records written before kinds existed have none, and were all events.
 */
export const kindOf = (record: { kind?: KindName | undefined }): ResourceKind => KINDS[record.kind ?? 'events'];

/** The kind and target a subscription resource watches, whichever kind it is. */
export function kindOfResource(resource: string): { kind: ResourceKind; target: Target } | undefined {
  for (const kind of Object.values(KINDS)) {
    const target = kind.targetOf(resource);
    if (target) return { kind, target };
  }
  return undefined;
}

/** The id of an item Graph sent or listed: placed by the item itself where the kind says so (a Teams reply). */
export const itemIdOf = (kind: ResourceKind, target: Target, item: Record<string, unknown>): string =>
  kind.itemIdOf ? kind.itemIdOf(target, item) : String(item.id);

/**
 * The target a stored subscription watches: its mailbox and folder, or for a tenant-wide kind its container
 * (a Teams channel or chat) or the whole tenant.
 */
export function subscriptionTarget(kind: ResourceKind, s: { userId: string; folderId?: string | undefined }): Target {
  if (kind.scope === 'tenant') return s.folderId ? { folderId: s.folderId } : {};
  return { userId: s.userId.toLowerCase(), ...(s.folderId ? { folderId: s.folderId } : {}) };
}
