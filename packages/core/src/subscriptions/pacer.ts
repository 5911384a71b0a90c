/**
 * Client-side pacing under Graph's subscription-API throttles, which count each request type twice: per app
 * and tenant (writes 500, reauthorize 1,000, list 25 per 20 s) and per app across all its tenants (2,000, 4,000,
 * 40). take() waits until the call fits both sliding windows and then stamps both at once, so tenants renewed in
 * parallel share the app's quota instead of bouncing off 429s.
 */
export class Pacer {
  private readonly stamps = new Map<string, number[]>();
  private readonly app: number[] = [];
  private readonly limit: number;
  private readonly appLimit: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(limit: number, windowMs: number, now: () => number = Date.now, appLimit = Infinity) {
    this.limit = limit;
    this.appLimit = appLimit;
    this.windowMs = windowMs;
    this.now = now;
  }

  /**
   * Waits for a slot; the returned function, called when Graph has answered, moves the slot's stamp to that
   * moment. Graph counts a request when it arrives, which is after take() returned: a stamp left at take()
   * time would free its slot early and the window's last calls would meet a 429.
   */
  async take(key: string): Promise<() => void> {
    for (;;) {
      const now = this.now();
      let list = this.stamps.get(key);
      if (!list) this.stamps.set(key, (list = []));
      // Stamps stay sorted (restamp inserts in order), so the expired ones are at the front.
      while (list.length && list[0]! <= now - this.windowMs) list.shift();
      while (this.app.length && this.app[0]! <= now - this.windowMs) this.app.shift();
      const keyFull = list.length >= this.limit;
      const appFull = this.app.length >= this.appLimit;
      if (!keyFull && !appFull) {
        const stamp = [now];
        list.push(now);
        this.app.push(now);
        return () => {
          const at = this.now();
          restamp(this.stamps.get(key) ?? [], stamp[0]!, at);
          restamp(this.app, stamp[0]!, at);
          stamp[0] = at;
        };
      }
      const freeAt = Math.max(keyFull ? list[0]! : 0, appFull ? this.app[0]! : 0) + this.windowMs;
      await new Promise((r) => setTimeout(r, freeAt - now + 1));
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

/** Replaces one occurrence of `from` in a sorted stamp list by the later `to`, keeping it sorted. */
function restamp(list: number[], from: number, to: number): void {
  const i = list.indexOf(from);
  if (i < 0) return;
  list.splice(i, 1);
  let j = list.length;
  while (j > 0 && list[j - 1]! > to) j--;
  list.splice(j, 0, to);
}
