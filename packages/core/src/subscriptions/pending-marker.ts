import { createHash } from 'node:crypto';
import type { SubscriptionRecord } from '../model/subscription.ts';

/** How long a pending marker is matched after it was written (a create's calls and retries are bounded within it). */
export const PENDING_CREATE_MS = 10 * 60_000;
/** How long it is matched once the create returned: longer than the store cache remembers an id as unknown. */
export const PENDING_AFTER_CREATE_MS = 30_000;

/** Whether a pending marker still makes a notification a retry (markers of earlier versions: by `updatedAt`). */
export function pendingMatches(marker: SubscriptionRecord, now: number): boolean {
  if (!marker.pending) return false;
  const until = marker.pendingUntil
    ? Date.parse(marker.pendingUntil)
    : Date.parse(marker.updatedAt) + PENDING_CREATE_MS;
  return Number.isFinite(until) && now < until;
}

/** The store id of the pending marker for a clientState: a hash, so the id reveals nothing of the secret. */
export const pendingId = (clientState: string): string =>
  `pending-${createHash('sha256').update(clientState).digest('hex').slice(0, 48)}`;
