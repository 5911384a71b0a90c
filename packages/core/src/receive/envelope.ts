import type { ChangeNotification, LifecycleNotification } from './notification.ts';
import { parseItemResource } from './resource.ts';

/** Each item of `value`, sorted by shape: a change, a lifecycle event, or something we cannot use. */
export type Item =
  | { kind: 'change'; n: ChangeNotification; raw: Record<string, unknown> }
  | { kind: 'lifecycle'; n: LifecycleNotification; raw: Record<string, unknown> }
  /** Well-formed envelope (subscription, tenant, clientState), but a change we do not handle. */
  | {
      kind: 'unusable';
      reason: 'unsupported_change_type' | 'unknown_resource';
      subscriptionId: string;
      tenantId: string;
      clientState: string | null;
    }
  | { kind: 'malformed'; problem: string };

/** `validationTokens`: a rich POST's proof that Graph sent it (checked only where rich items rely on it). */
export type Envelope = { ok: true; items: Item[]; validationTokens: unknown } | { ok: false; reason: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SUBSCRIPTION_ID = /^[A-Za-z0-9-]{1,64}$/;
/** What may go into a Kafka header: printable ASCII, no control characters. */
const HEADER_SAFE = /^[\x21-\x7e]{1,256}$/;
const CHANGE_TYPES = new Set(['created', 'updated', 'deleted']);
const LIFECYCLE_EVENTS = new Set(['missed', 'subscriptionRemoved', 'reauthorizationRequired']);

/**
 * Parses a changeNotificationCollection. The body as a whole is refused (400) only when it is not such a
 * collection at all: not JSON, no `value` array, or not one item with a notification's envelope. Otherwise
 * every item gets its own verdict, so one item another app sent to the same URL, or a change kind we do not
 * handle, never decides for the items beside it. Lifecycle and change items are told apart by shape.
 */
export function parseEnvelope(body: Buffer): Envelope {
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
  const items = value.map((raw, i) => parseItem(raw, `value[${i}]`));
  const firstProblem = items.find((i) => i.kind === 'malformed');
  if (firstProblem && items.every((i) => i.kind === 'malformed'))
    return { ok: false, reason: (firstProblem as { problem: string }).problem };
  return { ok: true, items, validationTokens: (parsed as { validationTokens?: unknown }).validationTokens };
}

function parseItem(raw: unknown, at: string): Item {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { kind: 'malformed', problem: `${at} is not an object` };
  const item = raw as Record<string, unknown>;
  if (typeof item.subscriptionId !== 'string' || !SUBSCRIPTION_ID.test(item.subscriptionId))
    return { kind: 'malformed', problem: `${at}: subscriptionId is missing or malformed` };
  if (typeof item.tenantId !== 'string' || !GUID.test(item.tenantId))
    return { kind: 'malformed', problem: `${at}: tenantId must be a GUID` };
  if (
    item.clientState !== undefined &&
    item.clientState !== null &&
    (typeof item.clientState !== 'string' || item.clientState.length > 255)
  )
    return { kind: 'malformed', problem: `${at}: clientState must be a string of at most 255 characters` };
  const expiration = item.subscriptionExpirationDateTime;
  if (expiration !== undefined && (typeof expiration !== 'string' || Number.isNaN(Date.parse(expiration))))
    return { kind: 'malformed', problem: `${at}: subscriptionExpirationDateTime must be a date-time` };
  const envelope = {
    subscriptionId: item.subscriptionId,
    subscriptionExpirationDateTime: expiration,
    tenantId: item.tenantId.toLowerCase(),
    clientState: item.clientState ?? null,
  };

  if ('lifecycleEvent' in item) {
    if (typeof item.lifecycleEvent !== 'string' || !LIFECYCLE_EVENTS.has(item.lifecycleEvent))
      return {
        kind: 'malformed',
        problem: `${at}: lifecycleEvent must be missed, subscriptionRemoved or reauthorizationRequired`,
      };
    return {
      kind: 'lifecycle',
      n: { ...envelope, lifecycleEvent: item.lifecycleEvent as LifecycleNotification['lifecycleEvent'] },
      raw: item,
    };
  }
  if (typeof item.changeType !== 'string')
    return { kind: 'malformed', problem: `${at}: neither changeType nor lifecycleEvent is present` };
  if (!CHANGE_TYPES.has(item.changeType)) return { kind: 'unusable', reason: 'unsupported_change_type', ...envelope };
  const resource = typeof item.resource === 'string' ? parseItemResource(item.resource) : undefined;
  const data = item.resourceData;
  const dataId = typeof data === 'object' && data !== null ? (data as { id?: unknown }).id : undefined;
  // resourceData.id, when present, must name the same item as the resource: two ids would give two answers.
  if (!resource || (dataId !== undefined && dataId !== resource.itemId))
    return { kind: 'unusable', reason: 'unknown_resource', ...envelope };
  return {
    kind: 'change',
    n: {
      ...envelope,
      // A notification id that cannot travel in a header is dropped rather than letting it decide the item.
      id: typeof item.id === 'string' && HEADER_SAFE.test(item.id) ? item.id : undefined,
      changeType: item.changeType as ChangeNotification['changeType'],
      resource: item.resource as string,
      named: resource,
    },
    raw: item,
  };
}
