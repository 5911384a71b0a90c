import type { SimClock } from './clock.ts';

/** Counts events in a sliding window of simulated time and tells when the next one would be allowed. */
export class SlidingWindowLimiter {
  private readonly windows = new Map<string, number[]>();

  private readonly clock: SimClock;

  private readonly windowMs: number;

  private limit: number;

  constructor(clock: SimClock, windowMs: number, limit: number) {
    this.clock = clock;

    this.windowMs = windowMs;

    this.limit = limit;
  }

  setLimit(limit: number): void {
    this.limit = limit;
  }

  /** Takes a slot for `key`, or returns how many ms until one frees up. */
  tryTake(key: string): { ok: true } | { ok: false; retryAfterMs: number } {
    const now = this.clock.now();
    let stamps = this.windows.get(key);
    if (!stamps) {
      stamps = [];
      this.windows.set(key, stamps);
    }
    let drop = 0;
    while (drop < stamps.length && stamps[drop]! <= now - this.windowMs) drop++;
    if (drop) stamps.splice(0, drop);
    if (stamps.length >= this.limit) return { ok: false, retryAfterMs: stamps[0]! + this.windowMs - now };
    stamps.push(now);
    return { ok: true };
  }

  /** Gives back the slot just taken for `key` (the request was refused by another limit after all). */
  untake(key: string): void {
    this.windows.get(key)?.pop();
  }
}

/** Counts requests in flight per key (Outlook: at most 4 concurrent per app and mailbox). */
export class ConcurrencyLimiter {
  private readonly inFlight = new Map<string, number>();

  private limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  setLimit(limit: number): void {
    this.limit = limit;
  }

  tryEnter(key: string): boolean {
    const n = this.inFlight.get(key) ?? 0;
    if (n >= this.limit) return false;
    this.inFlight.set(key, n + 1);
    return true;
  }

  leave(key: string): void {
    const n = (this.inFlight.get(key) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(key);
    else this.inFlight.set(key, n);
  }
}

/** Runs async tasks with at most `limit` at once. */
export async function mapConcurrent<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
