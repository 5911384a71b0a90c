/** Path pieces shared by the mailbox kinds (events, messages, contacts). */

/** Graph's ids for Outlook items and folders (REST and immutable) are base64 in one path segment. */
export const ITEM_ID = /^[A-Za-z0-9_\-+=]{1,512}$/;
/** One path segment of a user reference: object id, `id@tenant` or UPN. No '/', quotes, or dot-only names. */
export const USER_REF = /^(?!\.+$)[A-Za-z0-9._@+-]{1,320}$/;

export const seg = (s: string): string => encodeURIComponent(s);

/** `/users/{id}/{collection}` for a subscription resource, matched in any casing, with or without a leading `/`. */
export function mailboxCollection(resource: string, collection: string): string | undefined {
  const m = new RegExp(String.raw`^\/?users\/([^/]+)\/${collection}$`, 'i').exec(resource);
  return m ? m[1]!.toLowerCase() : undefined;
}

/** `$select=…` as a query string (with its `?`), or nothing. */
export const selectQuery = (select: string | undefined): string => (select ? `?$select=${select}` : '');
