import { createHash, timingSafeEqual } from 'node:crypto';
import type { SubscriptionRecord, SubscriptionStore } from '../state/subscription-store.ts';
import type { Rejection } from './notification.ts';

/**
 * Constant-time comparison. Hashing first gives equal-length inputs, so neither the content nor the length of
 * the secret leaks through timing.
 */
export function sameSecret(given: string | null, expected: string): boolean {
  const a = createHash('sha256')
    .update(given ?? '')
    .digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given !== null;
}

export interface Verifiable {
  subscriptionId: string;
  tenantId: string;
  clientState: string | null;
}

export type Verdict = { ok: true; subscription: SubscriptionRecord } | { ok: false; reason: Rejection };

/** Is this notification from Graph, for a subscription of ours, in a tenant we serve? */
export async function verify(
  item: Verifiable,
  store: SubscriptionStore,
  allowedTenants: Set<string>,
): Promise<Verdict> {
  if (!allowedTenants.has(item.tenantId)) return { ok: false, reason: 'tenant_not_allowed' };
  const subscription = await store.get(item.subscriptionId);
  if (!subscription) return { ok: false, reason: 'unknown_subscription' };
  if (!sameSecret(item.clientState, subscription.clientState)) return { ok: false, reason: 'client_state_mismatch' };
  if (subscription.tenantId.toLowerCase() !== item.tenantId) return { ok: false, reason: 'tenant_mismatch' };
  return { ok: true, subscription };
}
