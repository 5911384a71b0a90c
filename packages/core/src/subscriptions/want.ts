import { createHash } from 'node:crypto';
import { kindOf, KINDS, subscriptionTarget, type ResourceKind, type Target } from '../kinds/index.ts';
import type { MailboxSyncState } from './sync-types.ts';
import type { ExpansionWindow, SubscriptionRecord } from '../model/subscription.ts';
import type { SubscriptionMode } from '../model/subscription-mode.ts';
import { modeOf, type SubscriptionModes } from './mode.ts';
import type { SyncTarget } from './resync.ts';

/** One subscription the desired state asks for: a kind's target in a tenant, with the entry's options. */
export interface Want {
  tenantId: string;
  kind: ResourceKind;
  target: Target;
  resource: string;
  changeTypes: string;
  select: string | undefined;
  expand?: ExpansionWindow | undefined;
  mode: SubscriptionMode;
  /** Rich: properties read beside each item. */
  richRead?: string | undefined;
  /** A new target's existing items are produced (snapshot) rather than only tracked. */
  snapshot?: boolean;
  /** Hours between sweep rounds; 0 off. */
  sweepHours?: number | undefined;
}

/** A stored subscription's want (for recreating it as it was: its stored resource keeps a rich `$select`). */
export function wantOf(record: SubscriptionRecord, modes: SubscriptionModes): Want {
  const kind = kindOf(record);
  const target: Target = subscriptionTarget(kind, record);
  return {
    tenantId: record.tenantId,
    kind,
    target,
    resource: record.mode === 'rich' ? record.resource : kind.subscriptionResource(target),
    changeTypes: record.changeType,
    select: record.select,
    expand: record.expand,
    sweepHours: record.sweepHours,
    mode: modeOf(modes, record.mode),
    ...(record.richRead ? { richRead: record.richRead } : {}),
  };
}

export const syncTargetOf = (w: Want): SyncTarget => ({
  tenantId: w.tenantId,
  kind: w.kind,
  target: w.target,
  select: w.select,
  expand: w.expand,
});

export const sameUrl = (a: string | null | undefined, b: string): boolean =>
  !!a && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** How subscriptions are matched to wants: the resource, in any casing, without its leading slash. */
export const resourceKey = (resource: string): string => resource.replace(/^\/+/, '').toLowerCase();

/** A resource's fixed place in [0, 1): where in the spread its expirations fall. */
export function spreadOf(resource: string): number {
  return createHash('sha256').update(resourceKey(resource)).digest().readUInt32BE(0) / 2 ** 32;
}

/** Whether a stored subscription watches the target of a sync state. */
export const sameTarget = (r: SubscriptionRecord, s: MailboxSyncState): boolean =>
  kindOf(r) === KINDS[s.kind ?? 'events'] &&
  r.tenantId.toLowerCase() === s.tenantId.toLowerCase() &&
  r.userId.toLowerCase() === s.userId.toLowerCase() &&
  (r.folderId ?? '') === (s.folderId ?? '');
