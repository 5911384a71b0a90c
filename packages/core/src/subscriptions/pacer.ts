/**
 * Client-side pacing under Graph's subscription-API throttles (per app per tenant: writes 500 / 20 s,
 * reauthorize 1,000 / 20 s, list 25 / 20 s): take() waits until the call fits the sliding window, so a large
 * renewal runs at the limit instead of bouncing off 429s.
 */
export class Pacer {
  private readonly stamps = new Map<string, number[]>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(limit: number, windowMs: number, now: () => number = Date.now) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.now = now;
  }

  async take(key: string): Promise<void> {
    for (;;) {
      const now = this.now();
      const list = (this.stamps.get(key) ?? []).filter((t) => t > now - this.windowMs);
      this.stamps.set(key, list);
      if (list.length < this.limit) {
        list.push(now);
        return;
      }
      await new Promise((r) => setTimeout(r, list[0]! + this.windowMs - now + 1));
    }
  }

  /** Graph said 429 anyway (other writers share the quota): nothing more until Retry-After has passed. */
  block(key: string, ms: number): void {
    const until = this.now() + ms;
    this.stamps.set(
      key,
      Array.from({ length: this.limit }, () => until - this.windowMs),
    );
  }
}
