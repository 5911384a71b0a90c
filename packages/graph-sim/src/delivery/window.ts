import type { DeliveryOptions } from '../options.ts';

/**
 * Real ms from a change until graph-sim has made its first attempt and `redeliveries` retries, each given its
 * whole timeout: how long to wait for a notification the subscriber may fail that many times (a cold
 * function's first answer). Graph's schedule, graph-sim's default: 3 s for the first attempt, then retries
 * after 10 s, 20 s, 40 s … of 10 s each. Injected delivery faults (hold-backs, slow endpoints) come on top.
 */
export function deliveryWindowMs(delivery: DeliveryOptions, clockSpeed: number, redeliveries: number): number {
  let simMs = delivery.batchWindowMs;
  for (let n = 1; n <= redeliveries; n++)
    simMs += Math.min(delivery.retryBaseDelayMs * 2 ** (n - 1), delivery.retryMaxDelayMs);
  return Math.ceil(simMs / clockSpeed) + delivery.firstAttemptTimeoutMs + redeliveries * delivery.retryTimeoutMs;
}
