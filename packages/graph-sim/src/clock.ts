/**
 * Simulated time. Graph's rules are measured in minutes and hours (token lifetimes, 4 h of retries, 7-day
 * subscriptions), so tests run the clock faster (`speed`) or jump it (`advance`). Network timeouts are not
 * simulated time: they stay real, because the endpoint under test runs in real time.
 */
interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

export class SimClock {
  private baseReal = performance.now();
  private baseSim: number;
  private rate: number;
  private timers: Timer[] = [];
  private handle: NodeJS.Timeout | undefined;
  private seq = 0;

  constructor(startMs: number, speed: number) {
    this.baseSim = startMs;
    this.rate = speed;
  }

  now(): number {
    return this.baseSim + (performance.now() - this.baseReal) * this.rate;
  }

  nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  get speed(): number {
    return this.rate;
  }

  setSpeed(speed: number): void {
    if (!(speed > 0)) throw new RangeError(`clock speed must be a positive number, got ${speed}`);
    this.baseSim = this.now();
    this.baseReal = performance.now();
    this.rate = speed;
    this.reschedule();
  }

  /** Jumps simulated time forward; every timer that falls due runs. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`the clock only moves forward; advance(${ms}) refused`);
    this.baseSim += ms;
    this.reschedule();
  }

  /** Runs `fn` once simulated time reaches `atMs`; returns a cancel function. */
  at(atMs: number, fn: () => void): () => void {
    const timer: Timer = { at: atMs, seq: this.seq++, fn };
    // Binary insertion keeps the list ordered (by time, then creation) without re-sorting it per timer.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timers[mid]!.at <= atMs) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
    this.reschedule();
    return () => {
      const i = this.timers.indexOf(timer);
      if (i >= 0) {
        this.timers.splice(i, 1);
        this.reschedule();
      }
    };
  }

  /** When the earliest pending timer falls due, so a test can jump straight to it. */
  nextDueAt(): number | undefined {
    return this.timers[0]?.at;
  }

  after(ms: number, fn: () => void): () => void {
    return this.at(this.now() + ms, fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Stops all pending timers (used on shutdown so no callback runs against a stopped simulator). */
  dispose(): void {
    this.timers = [];
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }

  private reschedule(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    const first = this.timers[0];
    if (!first) return;
    const realDelay = Math.max(0, (first.at - this.now()) / this.rate);
    // setTimeout caps at 2^31-1 ms; a later wake-up simply re-plans.
    this.handle = setTimeout(() => this.fire(), Math.min(realDelay, 2 ** 31 - 1));
    this.handle.unref();
  }

  private fire(): void {
    this.handle = undefined;
    const now = this.now();
    const due: Timer[] = [];
    while (this.timers[0] && this.timers[0].at <= now) due.push(this.timers.shift()!);
    for (const timer of due) timer.fn();
    this.reschedule();
  }
}
