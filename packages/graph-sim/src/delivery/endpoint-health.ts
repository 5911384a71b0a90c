import type { SimClock } from '../clock.ts';
import type { DeliveryOptions } from '../options.ts';

export type EndpointState = 'normal' | 'slow' | 'drop';

interface Sample {
  at: number;
  over3s: boolean;
  over10s: boolean;
}

/**
 * Graph's endpoint throttling: more than 10% of answers slower than 3 s in 10 minutes → "slow" (new
 * notifications wait 10 minutes); more than 15% slower than 10 s → "drop" (notifications dropped for 10
 * minutes). A test can also force a state.
 */
export class EndpointHealth {
  private readonly samples = new Map<string, Sample[]>();
  private readonly forced = new Map<string, { state: EndpointState; untilMs: number }>();
  private readonly dropUntil = new Map<string, number>();

  private readonly clock: SimClock;

  private readonly options: DeliveryOptions;

  constructor(clock: SimClock, options: DeliveryOptions) {
    this.clock = clock;

    this.options = options;
  }

  observe(url: string, durationMs: number, timedOut: boolean, retry: boolean): void {
    const list = this.samples.get(url) ?? [];
    list.push({
      at: this.clock.now(),
      over3s: durationMs > this.options.firstAttemptTimeoutMs || (timedOut && !retry),
      over10s: durationMs > this.options.retryTimeoutMs || (timedOut && retry),
    });
    this.samples.set(url, list);
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
    const list = (this.samples.get(url) ?? []).filter((s) => s.at > now - this.options.healthWindowMs);
    this.samples.set(url, list);
    if (list.length < this.options.healthMinSamples) return 'normal';
    const share = (pick: (s: Sample) => boolean): number => list.filter(pick).length / list.length;
    if (share((s) => s.over10s) > this.options.dropThreshold) {
      this.dropUntil.set(url, now + this.options.dropForMs);
      return 'drop';
    }
    return share((s) => s.over3s) > this.options.slowThreshold ? 'slow' : 'normal';
  }

  snapshot(): Record<string, EndpointState> {
    const urls = new Set([...this.samples.keys(), ...this.forced.keys()]);
    return Object.fromEntries([...urls].map((u) => [u, this.state(u)]));
  }
}
