/**
 * The resource of an Outlook event notification, in every form Microsoft's docs and samples show:
 * `Users/{id}/Events/{id}`, `users/{id}/events/{id}` (any casing, with or without a leading slash), the OData
 * key-segment forms `Users('{id}')/Events('{id}')` and `Users/{id}/Events('{id}')`, the same behind Graph's or
 * Outlook REST's base URL, and the user written as an object id, `{id}@{tenant id}` or a UPN. Parsing only says what the resource *names*; whether that is the
 * subscription's own mailbox is decided by `boundToSubscription`, after the clientState has been checked.
 */
export interface EventResource {
  /** The user as written, lower-cased: an object id, `{object id}@{tenant id}`, or a UPN. */
  user: string;
  eventId: string;
}

/** One path segment of a user reference: object id, `id@tenant` or UPN. No '/', quotes, or dot-only names. */
const USER = /^(?!\.+$)[A-Za-z0-9._@+-]{1,320}$/;
/** Graph's ids for Outlook items (REST and immutable) are base64 in one path segment. */
export const EVENT_ID = /^[A-Za-z0-9_\-+=]{1,512}$/;
/** A key written as a path segment (`/x`) or as an OData key segment (`('x')`). */
const KEY = String.raw`(?:\/([^/()']+)|\('([^/()']*)'\))`;
const RESOURCE = new RegExp(String.raw`^\/?users${KEY}\/events${KEY}$`, 'i');
/**
 * Absolute forms seen in Microsoft's samples (Event Grid's Outlook events carry the Outlook REST URL). Only the
 * path after them is parsed; the host is never used for anything.
 */
const ABSOLUTE =
  /^https:\/\/(?:graph\.microsoft\.com\/(?:v1\.0|beta)|outlook\.office(?:365)?\.com\/api\/(?:v2\.0|beta))(?=\/)/i;

export function parseEventResource(resource: string): EventResource | undefined {
  if (resource.length > 2_048) return undefined;
  const m = RESOURCE.exec(resource.replace(ABSOLUTE, ''));
  if (!m) return undefined;
  const user = m[1] ?? m[2]!;
  const eventId = m[3] ?? m[4]!;
  if (!USER.test(user) || !EVENT_ID.test(eventId)) return undefined;
  return { user: user.toLowerCase(), eventId };
}

/** The mailbox a subscription resource (`/users/{id}/events`) watches, lower-cased, if it is an events one. */
export function subscribedMailbox(subscriptionResource: string): string | undefined {
  const m = /^\/?users\/([^/]+)\/events$/i.exec(subscriptionResource);
  return m ? m[1]!.toLowerCase() : undefined;
}

/**
 * Does the notification's resource name the subscription's own mailbox? Accepts the subscription's user as
 * written at creation, or as `{it}@{the notification's tenant}` (the form in Graph's docs). Anything else, a
 * UPN for an id-created subscription included, is refused rather than resolved: it cannot be told from a
 * caller pointing us at someone else's mailbox.
 */
export function boundToSubscription(
  resource: EventResource,
  subscription: { userId: string; resource: string },
  tenantId: string,
): boolean {
  const mailbox = subscribedMailbox(subscription.resource);
  if (!mailbox || mailbox !== subscription.userId.toLowerCase()) return false;
  return resource.user === mailbox || resource.user === `${mailbox}@${tenantId.toLowerCase()}`;
}
