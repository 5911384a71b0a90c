import type { ResourceKind } from './resource-kind.ts';

/** What the Outlook kinds (events, messages, contacts) share: Graph documents them together. */

/** Graph's ids for Outlook items and folders (REST and immutable) are base64 in one path segment. */
export const ITEM_ID = /^[A-Za-z0-9_\-+=]{1,512}$/;
/** One path segment of a user reference: object id, `id@tenant` or UPN. No '/', quotes, or dot-only names. */
export const USER_REF = /^(?!\.+$)[A-Za-z0-9._@+-]{1,320}$/;

export const seg = (s: string): string => encodeURIComponent(s);

/** `/users/{id}/{collection}` for a subscription resource, matched in any casing, with or without a leading `/`. */
export function mailboxCollection(resource: string, collection: string): string | undefined {
  const m = new RegExp(String.raw`^\/?users\/([^/]+)\/${collection}$`, 'i').exec(withoutQuery(resource));
  return m ? m[1]!.toLowerCase() : undefined;
}

/** A rich subscription's resource carries its `$select`; the target is the path before it. */
export const withoutQuery = (resource: string): string => resource.split('?')[0]!;

/** Rich notifications for Outlook items: Graph allows them for a day at most. */
export const OUTLOOK_RICH_MINUTES = 1_440;

/** `$select=…` as a query string (with its `?`), or nothing. */
export const selectQuery = (select: string | undefined): string => (select ? `?$select=${select}` : '');

/**
 * Graph's rules for Outlook items: all three change types, 10,080 minutes at most (basic notifications), every
 * lifecycle event, and `ErrorItemNotFound` as the only 404 that means the item is gone.
 */
export const OUTLOOK = {
  scope: 'mailbox',
  changeTypes: ['created', 'updated', 'deleted'],
  defaultChangeTypes: ['created', 'updated', 'deleted'],
  maxLifetimeMinutes: 10_080,
  lifecycleEvents: ['missed', 'subscriptionRemoved', 'reauthorizationRequired'],
  goneCodes: ['ErrorItemNotFound'],
} as const satisfies Partial<ResourceKind>;
