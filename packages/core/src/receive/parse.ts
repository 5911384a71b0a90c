import type { ChangeNotification, LifecycleNotification } from './notification.ts';

export type Parsed<T> = { ok: true; items: T[] } | { ok: false; reason: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SUBSCRIPTION_ID = /^[A-Za-z0-9-]{1,64}$/;
/** `Users/{id}/Events/{id}` or `Users/{id}/Events('{id}')`, as Graph writes Outlook event resources. */
const EVENT_RESOURCE = /^\/?users\/([^/]{1,320})\/events(?:\/([^/()']{1,512})|\('([^/()']{1,512})'\))$/i;
const EVENT_ID = /^[A-Za-z0-9_\-+/=]{1,512}$/;
const CHANGE_TYPES = new Set(['created', 'updated', 'deleted']);
const LIFECYCLE_EVENTS = new Set(['missed', 'subscriptionRemoved', 'reauthorizationRequired']);

function parseCollection(body: Buffer): { ok: true; value: unknown[] } | { ok: false; reason: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'the body is not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { ok: false, reason: 'the body must be a JSON object' };
  const value = (parsed as { value?: unknown }).value;
  if (!Array.isArray(value) || value.length === 0)
    return { ok: false, reason: "the body must have a non-empty 'value' array" };
  return { ok: true, value };
}

function common(item: Record<string, unknown>, at: string): string | undefined {
  if (typeof item.subscriptionId !== 'string' || !SUBSCRIPTION_ID.test(item.subscriptionId))
    return `${at}: subscriptionId is missing or malformed`;
  if (typeof item.tenantId !== 'string' || !GUID.test(item.tenantId)) return `${at}: tenantId must be a GUID`;
  if (
    item.clientState !== undefined &&
    item.clientState !== null &&
    (typeof item.clientState !== 'string' || item.clientState.length > 255)
  ) {
    return `${at}: clientState must be a string of at most 255 characters`;
  }
  if (
    item.subscriptionExpirationDateTime !== undefined &&
    (typeof item.subscriptionExpirationDateTime !== 'string' ||
      Number.isNaN(Date.parse(item.subscriptionExpirationDateTime)))
  ) {
    return `${at}: subscriptionExpirationDateTime must be a date-time`;
  }
  return undefined;
}

/** Checks a changeNotificationCollection for Outlook events; any malformed item fails the whole body (400). */
export function parseChangeNotifications(body: Buffer): Parsed<ChangeNotification> {
  const collection = parseCollection(body);
  if (!collection.ok) return collection;
  const items: ChangeNotification[] = [];
  for (const [i, raw] of collection.value.entries()) {
    const at = `value[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return { ok: false, reason: `${at} is not an object` };
    const item = raw as Record<string, unknown>;
    if ('lifecycleEvent' in item)
      return { ok: false, reason: `${at} is a lifecycle notification; send those to the lifecycle URL` };
    const problem = common(item, at);
    if (problem) return { ok: false, reason: problem };
    if (typeof item.changeType !== 'string' || !CHANGE_TYPES.has(item.changeType))
      return { ok: false, reason: `${at}: changeType must be created, updated or deleted` };
    if (typeof item.resource !== 'string') return { ok: false, reason: `${at}: resource is missing` };
    const match = EVENT_RESOURCE.exec(item.resource);
    if (!match) return { ok: false, reason: `${at}: resource must name an Outlook event (Users/{id}/Events/{id})` };
    const data = item.resourceData as Record<string, unknown> | undefined;
    const eventId = typeof data?.id === 'string' ? data.id : (match[2] ?? match[3]!);
    if (!EVENT_ID.test(eventId)) return { ok: false, reason: `${at}: the event id is malformed` };
    if (item.id !== undefined && (typeof item.id !== 'string' || item.id.length > 256))
      return { ok: false, reason: `${at}: id must be a string` };
    items.push({
      id: item.id,
      subscriptionId: item.subscriptionId as string,
      subscriptionExpirationDateTime: item.subscriptionExpirationDateTime as string | undefined,
      tenantId: (item.tenantId as string).toLowerCase(),
      clientState: (item.clientState as string | null | undefined) ?? null,
      changeType: item.changeType as ChangeNotification['changeType'],
      resource: item.resource,
      resourceData: { ...(data as object | undefined), id: eventId },
      userId: match[1]!,
      eventId,
    });
  }
  return { ok: true, items };
}

export function parseLifecycleNotifications(body: Buffer): Parsed<LifecycleNotification> {
  const collection = parseCollection(body);
  if (!collection.ok) return collection;
  const items: LifecycleNotification[] = [];
  for (const [i, raw] of collection.value.entries()) {
    const at = `value[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return { ok: false, reason: `${at} is not an object` };
    const item = raw as Record<string, unknown>;
    const problem = common(item, at);
    if (problem) return { ok: false, reason: problem };
    if (typeof item.lifecycleEvent !== 'string' || !LIFECYCLE_EVENTS.has(item.lifecycleEvent)) {
      return {
        ok: false,
        reason: `${at}: lifecycleEvent must be missed, subscriptionRemoved or reauthorizationRequired`,
      };
    }
    items.push({
      subscriptionId: item.subscriptionId as string,
      subscriptionExpirationDateTime: item.subscriptionExpirationDateTime as string | undefined,
      tenantId: (item.tenantId as string).toLowerCase(),
      clientState: (item.clientState as string | null | undefined) ?? null,
      lifecycleEvent: item.lifecycleEvent as LifecycleNotification['lifecycleEvent'],
    });
  }
  return { ok: true, items };
}
