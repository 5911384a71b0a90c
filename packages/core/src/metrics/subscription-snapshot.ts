import { kindOf, type KindName } from '../kinds/index.ts';
import type { SubscriptionRecord } from '../subscriptions/subscription-types.ts';
import type { SubscriptionSnapshot, SubscriptionState } from './metrics.ts';

/** Where one stored subscription stands at `now` (Graph's clock): the timer renews `renewal_due` ones. */
export function subscriptionState(record: SubscriptionRecord, now: number, renewWithinMs: number): SubscriptionState {
  if (record.pending) return 'pending';
  const left = Date.parse(record.expirationDateTime) - now;
  if (!(left > 0)) return 'expired';
  return left <= renewWithinMs ? 'renewal_due' : 'active';
}

/** Counts by kind and state, and the soonest expiry of a live subscription: what the gauges report. */
export function subscriptionSnapshot(
  records: SubscriptionRecord[],
  now: number,
  renewWithinMs: number,
  /** The wall clock, which the gauge counts the seconds left from (`now` may be a simulated Graph clock). */
  wallNow: number = Date.now(),
): SubscriptionSnapshot {
  const counts = new Map<string, { kind: KindName; state: SubscriptionState; count: number }>();
  let soonest = Infinity;
  for (const record of records) {
    const kind = kindOf(record).name;
    const state = subscriptionState(record, now, renewWithinMs);
    const key = `${kind}|${state}`;
    const entry = counts.get(key) ?? { kind, state, count: 0 };
    entry.count++;
    counts.set(key, entry);
    if (state === 'active' || state === 'renewal_due')
      soonest = Math.min(soonest, Date.parse(record.expirationDateTime));
  }
  return {
    counts: [...counts.values()],
    ...(Number.isFinite(soonest) ? { nextExpirySeconds: Math.round((soonest - now) / 1_000) } : {}),
    takenAt: wallNow,
  };
}
