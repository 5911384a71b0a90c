import type { DesiredEntry } from '../config/desired-state.ts';
import { isKindName, KINDS, subscriptionTarget, type ResourceKind, type Target } from '../kinds/index.ts';
import { boundToSubscription, parseItemResource, type NamedItem } from '../receive/resource.ts';
import type { RepairEntry } from '../repair/repair-types.ts';
import type { Subscriptions } from '../model/subscription.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import type { RefusalReason } from './replay-types.ts';

/** A letter that names a target graph2kafka subscribes to now: what to read and produce, from our own records. */
export interface ReplayableLetter {
  entry: RepairEntry & { select: string | undefined };
  /** The notification a new dead letter carries should the broker refuse the record again. */
  notification: Record<string, unknown> | null;
}

export type LetterVerdict = ({ ok: true } & ReplayableLetter) | { ok: false; reason: RefusalReason; message: string };

/** The fields of a letter the check reads, as typed text (letters of every version have them). */
interface Claim {
  tenantId: string;
  kind: ResourceKind;
  userId: string;
  folderId: string | undefined;
  itemId: string;
  changeType: RepairEntry['changeType'];
  reason: string;
  receivedAt: string;
  notification: Record<string, unknown> | null;
}

/** Advice every refusal ends with: what an operator does when a refused letter was genuine after all. */
const IF_GENUINE =
  'if it should be replicated, add it to the desired state and run graph2kafka subscriptions create (its snapshot produces the item); if nobody of yours wrote this letter, check who may write to the dead-letter topic';

/**
 * Decides whether a dead letter may be replayed. A letter is only a claim — anyone who can write to the topic can
 * write one — so a replay reads nothing on its word: the letter's tenant must be one notifications are accepted
 * from, its item id one Graph issues for its kind, and its target (kind, mailbox, folder) one a stored
 * subscription watches and the desired state still names. The mailbox is bound to the subscription by the
 * receiver's own rule (`boundToSubscription`), and the read uses the subscription's target and `$select`, never
 * the letter's. One check per replay: the stored subscriptions are listed once.
 */
export class LetterCheck {
  private readonly store: Subscriptions;
  private readonly allowedTenants: ReadonlySet<string>;
  /** Undefined when the subscription manager is off: the stored subscriptions alone decide, as for notifications. */
  private readonly desired: readonly DesiredEntry[] | undefined;
  private readonly now: () => number;
  private subscriptions: Promise<Map<string, SubscriptionRecord[]>> | undefined;

  constructor(deps: {
    store: Subscriptions;
    allowedTenants: ReadonlySet<string>;
    desired: readonly DesiredEntry[] | undefined;
    now?: () => number;
  }) {
    this.store = deps.store;
    this.allowedTenants = deps.allowedTenants;
    this.desired = deps.desired;
    this.now = deps.now ?? Date.now;
  }

  async check(value: unknown): Promise<LetterVerdict> {
    const claim = claimOf(value);
    if (!claim)
      return refuse(
        'malformed',
        'is not a dead letter graph2kafka writes (a field is missing or of the wrong type); nothing was read',
      );
    const { kind } = claim;
    const what = describe(claim);
    if (!this.allowedTenants.has(claim.tenantId))
      return refuse(
        'tenant_not_allowed',
        `names ${what}, and tenant ${claim.tenantId} is not one graph2kafka accepts notifications from (G2K_ALLOWED_TENANTS); nothing was read — ${IF_GENUINE}`,
      );
    const named = parseItemResource(kind.itemResource({ userId: claim.userId }, claim.itemId));
    if (!named || (kind.scope === 'mailbox' && named.itemId !== claim.itemId))
      return refuse(
        'invalid_item',
        `names ${what}, which is not a ${kind.scope === 'mailbox' ? 'mailbox and item id' : 'directory object id'} Graph issues for ${kind.name}; nothing was read`,
      );
    const bound = (await this.boundSubscriptions(claim, named)).sort((a, b) => a.id.localeCompare(b.id));
    if (!bound.length)
      return refuse(
        'not_subscribed',
        `names ${what}, and graph2kafka holds no subscription to the ${kind.name} of ${kind.scope === 'tenant' ? `tenant ${claim.tenantId}` : `mailbox ${claim.userId} in tenant ${claim.tenantId}`}; nothing was read — ${IF_GENUINE}`,
      );
    // The letter's folder, or the whole mailbox, which covers every folder of it.
    // A Teams item's container is in its id, which binding already checked: every bound subscription covers it.
    const covering = kind.binds
      ? bound
      : bound.filter((s) => s.folderId === claim.folderId || s.folderId === undefined);
    if (!covering.length) {
      const folders = bound.map((s) => s.folderId).join(', ');
      return refuse(
        'folder_not_subscribed',
        `names ${what}, and graph2kafka subscribes to that mailbox's ${kind.name} only in folder(s) ${folders}, not ${claim.folderId === undefined ? 'the whole mailbox' : `folder ${claim.folderId}`}; nothing was read — ${IF_GENUINE}`,
      );
    }
    const desired = covering.filter((s) => this.desires(s, kind));
    const subscription = desired.find((s) => s.folderId === claim.folderId) ?? desired[0];
    if (!subscription)
      return refuse(
        'not_desired',
        `names ${what}; a subscription to it is still stored, but the desired state no longer names it (the next timer run deletes it); nothing was read — ${IF_GENUINE}`,
      );
    return { ok: true, ...replayable(claim, named, subscription, this.now()) };
  }

  /** The stored subscriptions of the claim's tenant and kind whose mailbox the receiver would bind it to. */
  private async boundSubscriptions(claim: Claim, named: NamedItem): Promise<SubscriptionRecord[]> {
    this.subscriptions ??= this.store.list().then(indexed);
    const candidates = (await this.subscriptions).get(indexKey(claim.tenantId, claim.kind, named.user ?? '')) ?? [];
    return candidates.filter((s) => boundToSubscription(named, s, claim.tenantId));
  }

  /**
   * Whether the desired state still names the subscription's target: an entry of its tenant and kind that names
   * the mailbox, directly or through groups (whose members only the manager's last run knows: its stored
   * subscription is the evidence), and covers the folder or calendar (no folders: the whole mailbox).
   */
  private desires(subscription: SubscriptionRecord, kind: ResourceKind): boolean {
    if (!this.desired) return true;
    const userId = subscription.userId.toLowerCase();
    return this.desired.some(
      (d) =>
        d.tenantId === subscription.tenantId.toLowerCase() &&
        d.kind === kind.name &&
        (kind.scope === 'tenant' || d.users.includes(userId) || d.groups.length > 0 || d.rooms !== undefined) &&
        (subscription.folderId === undefined
          ? !d.folders.length && d.calendars === 'default' && !d.containers.length
          : d.folders.includes(subscription.folderId) ||
            d.containers.includes(subscription.folderId) ||
            // A calendar named by name, or found by `all`: its id is known only to the manager's last run, whose
            // stored subscription is the evidence (as for a group's members).
            (kind.name === 'events' && d.calendars !== 'default')),
    );
  }
}

const refuse = (reason: RefusalReason, message: string): LetterVerdict => ({ ok: false, reason, message });

const indexKey = (tenantId: string, kind: ResourceKind, userId: string): string =>
  `${tenantId.toLowerCase()}|${kind.name}|${userId.toLowerCase()}`;

/** Live stored subscriptions by tenant, kind and the mailbox their resource watches (none: tenant-wide). */
function indexed(records: SubscriptionRecord[]): Map<string, SubscriptionRecord[]> {
  const index = new Map<string, SubscriptionRecord[]>();
  for (const r of records) {
    if (r.pending) continue;
    const kind = KINDS[r.kind ?? 'events'];
    const target = kind.targetOf(r.resource);
    if (!target) continue;
    const key = indexKey(r.tenantId, kind, target.userId ?? '');
    index.set(key, [...(index.get(key) ?? []), r]);
  }
  return index;
}

const text = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** The letter's claim, when its fields have the types every version writes; the values are checked after. */
function claimOf(value: unknown): Claim | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  // Letters written before kinds existed are events and name the item `eventId`.
  if (v.kind !== undefined && !isKindName(v.kind)) return undefined;
  const kind = KINDS[v.kind ?? 'events'];
  const itemId = v.itemId ?? v.eventId;
  const userId = kind.scope === 'tenant' ? '' : v.userId;
  if (!text(v.tenantId, 64) || !text(itemId, 1_024) || (kind.scope === 'mailbox' && !text(userId, 320)))
    return undefined;
  if (v.folderId !== undefined && !text(v.folderId, 512)) return undefined;
  if (!kind.changeTypes.includes(v.changeType as RepairEntry['changeType'])) return undefined;
  const notification = v.notification;
  if (
    notification !== null &&
    notification !== undefined &&
    (typeof notification !== 'object' || Array.isArray(notification))
  )
    return undefined;
  return {
    tenantId: v.tenantId.toLowerCase(),
    kind,
    userId: userId as string,
    folderId: kind.container ? v.folderId : undefined,
    itemId,
    changeType: v.changeType as RepairEntry['changeType'],
    reason: text(v.reason, 200) ? v.reason : 'dead_lettered',
    receivedAt: typeof v.receivedAt === 'string' && !Number.isNaN(Date.parse(v.receivedAt)) ? v.receivedAt : '',
    notification: (notification as Record<string, unknown> | null | undefined) ?? null,
  };
}

/** What the letter named, for the operator (ids bounded, so a hostile letter cannot flood the output). */
function describe(c: Claim): string {
  const cut = (s: string): string => (s.length > 80 ? `${s.slice(0, 80)}…` : s);
  const where =
    c.kind.scope === 'tenant'
      ? `tenant ${cut(c.tenantId)}`
      : `mailbox ${cut(c.userId)}${c.folderId !== undefined ? ` folder ${cut(c.folderId)}` : ''} in tenant ${cut(c.tenantId)}`;
  return `${c.kind.name} item ${cut(c.itemId)} of ${where}`;
}

/**
 * The repair entry the replay reads, built as the receiver builds a verified change: kind, mailbox, folder,
 * `$select` and subscription id are the subscription's; of the letter only the item id (checked), the change type
 * and, when it names that same item, the resource as Graph wrote it are kept.
 */
function replayable(claim: Claim, named: NamedItem, subscription: SubscriptionRecord, now: number): ReplayableLetter {
  const { kind } = claim;
  const target: Target = subscriptionTarget(kind, subscription);
  const given = claim.notification?.resource;
  const givenNames = typeof given === 'string' ? parseItemResource(given) : undefined;
  const resource =
    typeof given === 'string' &&
    givenNames?.itemId === named.itemId &&
    boundToSubscription(givenNames, subscription, claim.tenantId)
      ? given
      : kind.itemResource(target, named.itemId);
  const n = claim.notification;
  return {
    entry: {
      tenantId: claim.tenantId,
      kind: kind.name,
      userId: target.userId ?? '',
      itemId: named.itemId,
      ...(target.folderId ? { folderId: target.folderId } : {}),
      select: subscription.select ?? kind.defaultSelect,
      subscriptionId: subscription.id,
      changeType: claim.changeType,
      resource,
      reason: claim.reason,
      firstSeenAt: claim.receivedAt || new Date(now).toISOString(),
      attempts: 0,
    },
    notification: n
      ? {
          id: text(n.id, 200) ? n.id : null,
          subscriptionId: subscription.id,
          tenantId: claim.tenantId,
          changeType: claim.changeType,
          resource,
          subscriptionExpirationDateTime: subscription.expirationDateTime,
        }
      : null,
  };
}
