import type { ChangeNotification, LifecycleNotification } from '../model/change.ts';
import { MIN_BYTES_PER_VALUE, tooDense } from './json-density.ts';
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
 * Malformed items: Graph sends none (another app's items on the same URL are Graph's too, so well formed), so a
 * POST with more than this many was made by someone else; it is refused whole instead of costing a verdict,
 * a store lookup slot and an outcome per junk item.
 */
export const MAX_MALFORMED_ITEMS = 64;

/** One shared verdict per problem: a malformed item costs its slot in `items`, not an object and a message. */
const MALFORMED = {
  notAnObject: 'is not an object',
  subscriptionId: 'subscriptionId is missing or malformed',
  tenantId: 'tenantId must be a GUID',
  clientState: 'clientState must be a string of at most 255 characters',
  expiration: 'subscriptionExpirationDateTime must be a date-time',
  lifecycleEvent: 'lifecycleEvent must be missed, subscriptionRemoved or reauthorizationRequired',
  noKind: 'neither changeType nor lifecycleEvent is present',
} as const;
const MALFORMED_ITEMS = Object.fromEntries(
  Object.entries(MALFORMED).map(([k, problem]) => [k, Object.freeze({ kind: 'malformed' as const, problem })]),
) as Record<keyof typeof MALFORMED, Item>;

/**
 * Parses a changeNotificationCollection. The body as a whole is refused (400) only when it is not such a
 * collection at all: denser than any collection (checked on the bytes, before JSON.parse builds anything),
 * not JSON, no `value` array, not one item with a notification's envelope, or more malformed items than
 * Graph would ever send. Otherwise every item gets its own verdict, so one item another app sent to the same
 * URL, or a change kind we do not handle, never decides for the items beside it. Lifecycle and change items
 * are told apart by shape.
 */
export function parseEnvelope(body: Buffer): Envelope {
  const dense = tooDense(body);
  if (dense)
    return {
      ok: false,
      reason: `the body holds ${dense.values} JSON values in ${body.length} bytes; a notification collection holds at most one per ${MIN_BYTES_PER_VALUE} bytes`,
    };
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
  const items: Item[] = [];
  let malformed = 0;
  let firstProblem: string | undefined;
  for (const [i, raw] of (value as unknown[]).entries()) {
    const item = parseItem(raw);
    if (item.kind === 'malformed') {
      firstProblem ??= `value[${i}]${item === MALFORMED_ITEMS.notAnObject ? ' ' : ': '}${item.problem}`;
      if (++malformed > MAX_MALFORMED_ITEMS)
        return {
          ok: false,
          reason: `more than ${MAX_MALFORMED_ITEMS} items are not notifications (the first: ${firstProblem})`,
        };
    }
    items.push(item);
  }
  if (firstProblem && malformed === items.length) return { ok: false, reason: firstProblem };
  return { ok: true, items, validationTokens: (parsed as { validationTokens?: unknown }).validationTokens };
}

function parseItem(raw: unknown): Item {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return MALFORMED_ITEMS.notAnObject;
  const item = raw as Record<string, unknown>;
  if (typeof item.subscriptionId !== 'string' || !SUBSCRIPTION_ID.test(item.subscriptionId))
    return MALFORMED_ITEMS.subscriptionId;
  if (typeof item.tenantId !== 'string' || !GUID.test(item.tenantId)) return MALFORMED_ITEMS.tenantId;
  if (
    item.clientState !== undefined &&
    item.clientState !== null &&
    (typeof item.clientState !== 'string' || item.clientState.length > 255)
  )
    return MALFORMED_ITEMS.clientState;
  const expiration = item.subscriptionExpirationDateTime;
  if (expiration !== undefined && (typeof expiration !== 'string' || Number.isNaN(Date.parse(expiration))))
    return MALFORMED_ITEMS.expiration;
  const envelope = {
    subscriptionId: item.subscriptionId,
    subscriptionExpirationDateTime: expiration,
    tenantId: item.tenantId.toLowerCase(),
    clientState: item.clientState ?? null,
  };

  if ('lifecycleEvent' in item) {
    if (typeof item.lifecycleEvent !== 'string' || !LIFECYCLE_EVENTS.has(item.lifecycleEvent))
      return MALFORMED_ITEMS.lifecycleEvent;
    return {
      kind: 'lifecycle',
      n: { ...envelope, lifecycleEvent: item.lifecycleEvent as LifecycleNotification['lifecycleEvent'] },
      raw: item,
    };
  }
  if (typeof item.changeType !== 'string') return MALFORMED_ITEMS.noKind;
  if (!CHANGE_TYPES.has(item.changeType)) return { kind: 'unusable', reason: 'unsupported_change_type', ...envelope };
  const resource = typeof item.resource === 'string' ? parseItemResource(item.resource) : undefined;
  const data = item.resourceData;
  const dataId = typeof data === 'object' && data !== null ? (data as { id?: unknown }).id : undefined;
  // resourceData.id, when present, must name the same item as the resource: two ids would give two answers.
  if (!resource || (dataId !== undefined && dataId !== (resource.dataId ?? resource.itemId)))
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
