/**
 * Simulated time. Graph's rules are measured in minutes and hours (token lifetimes, 4 h of retries, 7-day
 * subscriptions), so tests run the clock faster (`speed`) or jump it (`advance`). Network timeouts are not
 * simulated time: they stay real, because the endpoint under test runs in real time.
 */
interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
  /** Out of the heap (due and about to run): a cancel then only stops it from running. */
  taken: boolean;
}

const earlier = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * Pending timers as a binary min-heap (by time, then creation), cancelled ones dropped lazily: a load test
 * holds two timers per subscription (600,000 at 300,000 subscriptions) and renews them all, which a sorted
 * array with splice and indexOf turns into hours of memmove.
 */
class TimerHeap {
  private items: Timer[] = [];
  private cancelled = 0;

  get size(): number {
    return this.items.length - this.cancelled;
  }

  push(timer: Timer): void {
    this.items.push(timer);
    this.up(this.items.length - 1);
  }

  peek(): Timer | undefined {
    while (this.items[0]?.cancelled) {
      this.popRaw();
      this.cancelled--;
    }
    return this.items[0];
  }

  pop(): Timer | undefined {
    const top = this.peek();
    if (top) {
      this.popRaw();
      top.taken = true;
    }
    return top;
  }

  cancel(timer: Timer): void {
    if (timer.cancelled) return;
    timer.cancelled = true;
    if (timer.taken) return;
    this.cancelled++;
    // Cancelled timers deep in the heap are only dropped when they surface; rebuild before they dominate it.
    if (this.cancelled > 1_024 && this.cancelled > this.items.length / 2) {
      this.items = this.items.filter((t) => !t.cancelled);
      this.cancelled = 0;
      for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
    }
  }

  clear(): void {
    this.items = [];
    this.cancelled = 0;
  }

  private popRaw(): void {
    const last = this.items.pop()!;
    if (this.items.length) {
      this.items[0] = last;
      this.down(0);
    }
  }

  private up(i: number): void {
    const items = this.items;
    const t = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(t, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = t;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const t = items[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && earlier(items[child + 1]!, items[child]!)) child++;
      if (!earlier(items[child]!, t)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = t;
  }
}

export class SimClock {
  private baseReal = performance.now();
  private baseSim: number;
  private rate: number;
  private readonly timers = new TimerHeap();
  private handle: NodeJS.Timeout | undefined;
  /** When the armed setTimeout fires, in simulated ms (an earlier new timer re-arms it). */
  private armedFor = Infinity;
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
    const timer: Timer = { at: atMs, seq: this.seq++, fn, cancelled: false, taken: false };
    this.timers.push(timer);
    if (!this.handle || atMs < this.armedFor) this.reschedule();
    return () => this.timers.cancel(timer);
  }

  /** When the earliest pending timer falls due, so a test can jump straight to it. */
  nextDueAt(): number | undefined {
    return this.timers.peek()?.at;
  }

  after(ms: number, fn: () => void): () => void {
    return this.at(this.now() + ms, fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Stops all pending timers (used on shutdown so no callback runs against a stopped simulator). */
  dispose(): void {
    this.timers.clear();
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }

  private reschedule(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.armedFor = Infinity;
    const first = this.timers.peek();
    if (!first) return;
    this.armedFor = first.at;
    const realDelay = Math.max(0, (first.at - this.now()) / this.rate);
    // setTimeout caps at 2^31-1 ms; a later wake-up simply re-plans.
    this.handle = setTimeout(() => this.fire(), Math.min(realDelay, 2 ** 31 - 1));
    this.handle.unref();
  }

  private fire(): void {
    this.handle = undefined;
    const now = this.now();
    const due: Timer[] = [];
    while ((this.timers.peek()?.at ?? Infinity) <= now) due.push(this.timers.pop()!);
    // A timer cancelled by an earlier one's callback in this same batch must not run.
    for (const timer of due) if (!timer.cancelled) timer.fn();
    this.reschedule();
  }
}
