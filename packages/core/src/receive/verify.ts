import { createHash, timingSafeEqual } from 'node:crypto';
import { pendingId, pendingMatches } from '../subscriptions/pending-marker.ts';
import type { Subscriptions } from '../model/subscription.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import type { Rejection } from '../model/outcome.ts';

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

export type Verdict =
  | { ok: true; subscription: SubscriptionRecord }
  | { ok: false; reason: Rejection }
  /** Not verifiable yet, for a reason that passes: Graph should redeliver. */
  | { ok: false; retry: string };

/**
 * Verifies the items of one POST: is each from Graph, for a subscription of ours, in a tenant we serve? Store
 * reads are shared by the items that name the same subscription, and at most `maxReads` reach the backend
 * (cache hits are free), so one POST of thousands of forged ids costs a bounded amount of work.
 */
export class PostVerifier {
  private readonly store: Subscriptions;
  private readonly allowedTenants: Set<string>;
  private readonly lookups = new Map<string, Promise<SubscriptionRecord | undefined> | 'over_budget'>();
  private readsLeft: number;
  /** Reads refused for the budget; the answer depends on whether the POST carried anything genuine. */
  overBudget = 0;

  constructor(store: Subscriptions, allowedTenants: Set<string>, maxReads: number) {
    this.store = store;
    this.allowedTenants = allowedTenants;
    this.readsLeft = maxReads;
  }

  async verify(item: Verifiable): Promise<Verdict> {
    if (!this.allowedTenants.has(item.tenantId)) return { ok: false, reason: 'tenant_not_allowed' };
    const found = await this.lookup(item.subscriptionId);
    if (found === 'over_budget') return { ok: false, reason: 'lookup_limit' };
    if (!found || found.pending) {
      // A subscription whose create call has not returned yet: its marker is keyed by its clientState.
      if (item.clientState === null) return { ok: false, reason: 'unknown_subscription' };
      const marker = await this.lookup(pendingId(item.clientState));
      if (
        marker !== 'over_budget' &&
        marker &&
        pendingMatches(marker, Date.now()) &&
        marker.tenantId.toLowerCase() === item.tenantId
      )
        return { ok: false, retry: 'the subscription is being created; its secret is not stored yet' };
      return { ok: false, reason: found === undefined ? 'unknown_subscription' : 'client_state_mismatch' };
    }
    if (!sameSecret(item.clientState, found.clientState)) return { ok: false, reason: 'client_state_mismatch' };
    if (found.tenantId.toLowerCase() !== item.tenantId) return { ok: false, reason: 'tenant_mismatch' };
    return { ok: true, subscription: found };
  }

  private lookup(id: string): Promise<SubscriptionRecord | undefined> | 'over_budget' {
    let entry = this.lookups.get(id);
    if (entry) return entry;
    const cached = this.store.peek?.(id);
    if (cached === undefined) {
      if (this.readsLeft <= 0) {
        this.overBudget++;
        return 'over_budget';
      }
      this.readsLeft--;
    }
    entry = this.store.get(id);
    this.lookups.set(id, entry);
    return entry;
  }
}
