import { KINDS, kindOf, type KindName, type NamedItem } from '../kinds/index.ts';
import { ITEM_ID, USER_REF } from '../kinds/mailbox-paths.ts';

/**
 * The resource of a change notification, in every form Microsoft's docs and samples show:
 * `Users/{id}/Events/{id}`, `users/{id}/messages/{id}` (any casing, with or without a leading slash), the OData
 * key-segment forms `Users('{id}')/Events('{id}')` and `Users/{id}/Events('{id}')`, the same behind Graph's or
 * Outlook REST's base URL, and the user written as an object id, `{id}@{tenant id}` or a UPN. Parsing only says
 * what the resource *names*; whether that is the subscription's own kind and mailbox is decided by
 * `boundToSubscription`, after the clientState has been checked.
 */
export type { NamedItem } from '../kinds/index.ts';

/** A key written as a path segment (`/x`) or as an OData key segment (`('x')`). */
const KEY = String.raw`(?:\/([^/()']+)|\('([^/()']*)'\))`;
const kindsOf = (scope: 'mailbox' | 'tenant'): string =>
  [
    ...new Set(
      Object.values(KINDS)
        .filter((k) => k.scope === scope && !k.namedItem)
        .map((k) => k.collection),
    ),
  ].join('|');
const MAILBOX_ITEM = new RegExp(String.raw`^\/?users${KEY}\/(${kindsOf('mailbox')})${KEY}$`, 'i');
/** A directory object of the tenant: `Users/{id}`, `Groups('{id}')`. */
const DIRECTORY_ITEM = new RegExp(String.raw`^\/?(${kindsOf('tenant')})${KEY}$`, 'i');
/** Kinds that parse their own notification resources (Teams). */
const PATH_KINDS = Object.values(KINDS).filter((k) => k.namedItem);
const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * Absolute forms seen in Microsoft's samples (Event Grid's Outlook events carry the Outlook REST URL). Only the
 * path after them is parsed; the host is never used for anything.
 */
const ABSOLUTE =
  /^https:\/\/(?:graph\.microsoft\.com\/(?:v1\.0|beta)|outlook\.office(?:365)?\.com\/api\/(?:v2\.0|beta))(?=\/)/i;

export function parseItemResource(resource: string): NamedItem | undefined {
  if (resource.length > 2_048) return undefined;
  const path = resource.replace(ABSOLUTE, '');
  for (const kind of PATH_KINDS) {
    const named = kind.namedItem!(path);
    if (named) return named;
  }
  const d = DIRECTORY_ITEM.exec(path);
  if (d) {
    const id = d[2] ?? d[3]!;
    return OBJECT_ID.test(id)
      ? { collection: d[1]!.toLowerCase(), user: undefined, itemId: id.toLowerCase() }
      : undefined;
  }
  const m = MAILBOX_ITEM.exec(path);
  if (!m) return undefined;
  const user = m[1] ?? m[2]!;
  const itemId = m[4] ?? m[5]!;
  if (!USER_REF.test(user) || !ITEM_ID.test(itemId)) return undefined;
  return { collection: m[3]!.toLowerCase(), user: user.toLowerCase(), itemId };
}

/**
 * Does the notification's resource name an item of the subscription's own kind in its own mailbox? Accepts the
 * subscription's user as written at creation, or as `{it}@{the notification's tenant}` (the form in Graph's
 * docs). Anything else, a UPN for an id-created subscription included, is refused rather than resolved: it
 * cannot be told from a caller pointing us at someone else's mailbox.
 */
export function boundToSubscription(
  named: NamedItem,
  subscription: { userId: string; resource: string; kind?: KindName | undefined },
  tenantId: string,
): boolean {
  const kind = kindOf(subscription);
  if (named.collection !== kind.collection) return false;
  const target = kind.targetOf(subscription.resource);
  if (kind.binds) return target !== undefined && kind.binds(target, named);
  // A tenant-wide subscription covers every object of its kind in its tenant (verify checked the tenant).
  if (kind.scope === 'tenant') return target !== undefined && named.user === undefined;
  if (named.user === undefined) return false;
  const mailbox = target?.userId;
  if (!mailbox || mailbox !== subscription.userId.toLowerCase()) return false;
  return named.user === mailbox || named.user === `${mailbox}@${tenantId.toLowerCase()}`;
}
