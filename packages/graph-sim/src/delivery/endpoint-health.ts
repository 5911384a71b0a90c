import type { SimClock } from '../clock.ts';
import type { DeliveryOptions } from '../options.ts';

export type EndpointState = 'normal' | 'slow' | 'drop';

interface Sample {
  at: number;
  over3s: boolean;
  over10s: boolean;
}

/**
 * The answers of one URL inside the window, oldest first, with running counts: asked once per notification,
 * the state must not cost a pass over ten minutes of answers (thousands a second under load).
 */
class Window {
  private samples: Sample[] = [];
  private head = 0;
  over3s = 0;
  over10s = 0;

  get size(): number {
    return this.samples.length - this.head;
  }

  add(sample: Sample): void {
    this.samples.push(sample);
    if (sample.over3s) this.over3s++;
    if (sample.over10s) this.over10s++;
  }

  evictBefore(cutoff: number): void {
    while (this.head < this.samples.length && this.samples[this.head]!.at <= cutoff) {
      const gone = this.samples[this.head++]!;
      if (gone.over3s) this.over3s--;
      if (gone.over10s) this.over10s--;
    }
    if (this.head > 1024 && this.head * 2 > this.samples.length) {
      this.samples = this.samples.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Graph's endpoint throttling: more than 10% of answers slower than 3 s in 10 minutes → "slow" (new
 * notifications wait 10 minutes); more than 15% slower than 10 s → "drop" (notifications dropped for 10
 * minutes). A test can also force a state.
 */
export class EndpointHealth {
  private readonly windows = new Map<string, Window>();
  private readonly forced = new Map<string, { state: EndpointState; untilMs: number }>();
  private readonly dropUntil = new Map<string, number>();

  private readonly clock: Pick<SimClock, 'now'>;
  private readonly options: DeliveryOptions;

  constructor(clock: Pick<SimClock, 'now'>, options: DeliveryOptions) {
    this.clock = clock;
    this.options = options;
  }

  observe(url: string, durationMs: number, timedOut: boolean, retry: boolean): void {
    let window = this.windows.get(url);
    if (!window) this.windows.set(url, (window = new Window()));
    window.add({
      at: this.clock.now(),
      over3s: durationMs > this.options.firstAttemptTimeoutMs || (timedOut && !retry),
      over10s: durationMs > this.options.retryTimeoutMs || (timedOut && retry),
    });
  }

  force(url: string, state: EndpointState, forMs: number): void {
    if (state === 'normal') this.forced.delete(url);
    else this.forced.set(url, { state, untilMs: this.clock.now() + forMs });
    this.dropUntil.delete(url);
  }

  state(url: string): EndpointState {
    const now = this.clock.now();
    const forced = this.forced.get(url);
    if (forced && forced.untilMs > now) return forced.state;
    if ((this.dropUntil.get(url) ?? 0) > now) return 'drop';
    const window = this.windows.get(url);
    if (!window) return 'normal';
    window.evictBefore(now - this.options.healthWindowMs);
    if (window.size < this.options.healthMinSamples) return 'normal';
    if (window.over10s / window.size > this.options.dropThreshold) {
      this.dropUntil.set(url, now + this.options.dropForMs);
      return 'drop';
    }
    return window.over3s / window.size > this.options.slowThreshold ? 'slow' : 'normal';
  }

  snapshot(): Record<string, EndpointState> {
    const urls = new Set([...this.windows.keys(), ...this.forced.keys()]);
    return Object.fromEntries([...urls].map((u) => [u, this.state(u)]));
  }
}
