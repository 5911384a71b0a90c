import type { SimClock } from '../clock.ts';
import type { Faults } from '../faults.ts';
import { guid } from '../ids.ts';
import type { DeliveryOptions } from '../options.ts';
import type { Records } from '../records.ts';
import type { AttemptOutcome, ChangeNotification, NotificationRecord, Subscription } from '../types.ts';
import type { EndpointHealth } from './endpoint-health.ts';
import { DeliveryClient } from './post.ts';

type Kind = 'change' | 'lifecycle';

interface Item {
  record: NotificationRecord;
  payload: ChangeNotification;
  sub: Subscription;
  createdMs: number;
}

interface Delivery {
  id: string;
  url: string;
  kind: Kind;
  items: Item[];
  attempt: number;
  firstAttemptMs: number | undefined;
  /** A second POST of notifications already delivered (`duplicateDeliveryRate`): it changes no notification's fate. */
  duplicate: boolean;
}

/** A delivery whose attempt failed, and when graph-sim tries it again. */
export interface Redelivery {
  url: string;
  kind: Kind;
  /** The attempt it will be (2 is the first retry). */
  attempt: number;
  /** Simulated ms of the retry. */
  atMs: number;
  notifications: number;
  /** How the attempt before it ended: the status answered, or the error (a timeout, a refused connection). */
  lastStatus?: number;
  lastError?: string;
}

export interface DispatcherDeps {
  clock: SimClock;
  options: DeliveryOptions;
  faults: Faults;
  health: EndpointHealth;
  records: Records;
  /** Whether the subscription still exists and its access is authorized (else delivery pauses). */
  subscriptionState: (sub: Subscription) => 'active' | 'paused' | 'gone';
  /** Notifications of this subscription were lost for good: Graph follows with a `missed` lifecycle event. */
  onLost: (sub: Subscription) => void;
  /** A rich POST's `validationTokens`: one per app and tenant of its rich items. */
  validationTokens?: (pairs: Array<{ appId: string; tenantId: string }>) => Promise<string[]>;
}

/**
 * Delivers notifications the way Graph does: gathered into POSTs of several (mixing subscriptions that share
 * a URL), a 2xx within 3 s counts, anything else is retried with exponential backoff and a 10 s timeout for up
 * to 4 hours, then dropped. Every attempt and every notification's fate is recorded.
 */
export class Dispatcher {
  private readonly gathering = new Map<string, { url: string; kind: Kind; items: Item[]; cancel: () => void }>();
  private readonly ready = new Map<string, Delivery[]>();
  private readonly inFlight = new Map<string, number>();
  /** Deliveries on the wire: where each one is, for diagnosing one that never comes back. */
  private readonly onWire = new Map<string, { url: string; since: number; phase: string }>();
  private readonly waiting = new Set<() => void>();
  /** Failed deliveries waiting for their retry, by delivery id: what a caller waits for (`redeliveries()`). */
  private readonly retrying = new Map<string, Redelivery>();
  private readonly client = new DeliveryClient();
  private stopped = false;

  private readonly deps: DispatcherDeps;

  constructor(deps: DispatcherDeps) {
    this.deps = deps;
  }

  /**
   * Takes a new notification; it is recorded (pending) at once. `holdMs` (simulated) delays when it joins a POST:
   * an extra `updated` of one event edit that Graph sends a moment after the first.
   */
  enqueue(
    sub: Subscription,
    kind: Kind,
    url: string,
    payload: ChangeNotification,
    record: NotificationRecord,
    holdMs = 0,
  ): void {
    this.deps.records.addNotification(record);
    const item: Item = { record, payload, sub, createdMs: this.deps.clock.now() };
    if (holdMs <= 0) return this.gather(kind, url, item);
    if (this.stopped) return;
    const cancel = this.deps.clock.after(holdMs, () => {
      this.waiting.delete(cancel);
      this.gather(kind, url, item);
    });
    this.waiting.add(cancel);
  }

  private gather(kind: Kind, url: string, item: Item): void {
    const { health, faults } = this.deps;
    if (kind === 'change') {
      if (health.state(url) === 'drop') return this.lose([item], 'endpointInDropState');
      if (faults.dropDelivery()) return this.lose([item], 'injectedDrop');
      // Lost without a word, as Graph sometimes loses them: no `missed` follows, the subscriber cannot tell.
      if (faults.silentDrop()) return this.finish([item], 'dropped', 'silentDrop');
    }
    const key = `${kind} ${url}`;
    let batch = this.gathering.get(key);
    if (!batch) {
      batch = {
        url,
        kind,
        items: [],
        cancel: this.deps.clock.after(this.deps.options.batchWindowMs, () => this.flush(key)),
      };
      this.gathering.set(key, batch);
    }
    batch.items.push(item);
    if (batch.items.length >= this.deps.options.maxNotificationsPerPost) this.flush(key);
  }

  /** Pending work: notifications gathered, queued, waiting for a retry, or on the wire. */
  get busy(): boolean {
    if (this.gathering.size || this.waiting.size) return true;
    for (const list of this.ready.values()) if (list.length) return true;
    for (const n of this.inFlight.values()) if (n) return true;
    return false;
  }

  /** What is queued where: for diagnosing a delivery that does not settle. */
  state(): {
    gathering: number;
    waiting: number;
    ready: Record<string, number>;
    inFlight: Record<string, number>;
    onWire: Array<{ url: string; ageMs: number; phase: string }>;
  } {
    const now = performance.now();
    return {
      onWire: [...this.onWire.values()].map((w) => ({ url: w.url, ageMs: Math.round(now - w.since), phase: w.phase })),
      gathering: [...this.gathering.values()].reduce((n, g) => n + g.items.length, 0),
      waiting: this.waiting.size,
      ready: Object.fromEntries([...this.ready].map(([url, list]) => [url, list.length])),
      inFlight: Object.fromEntries(this.inFlight),
    };
  }

  /** The failed deliveries graph-sim will try again, earliest first. */
  redeliveries(): Redelivery[] {
    return [...this.retrying.values()].sort((a, b) => a.atMs - b.atMs);
  }

  stop(): void {
    this.stopped = true;
    this.retrying.clear();
    for (const g of this.gathering.values()) g.cancel();
    for (const cancel of this.waiting) cancel();
    this.gathering.clear();
    this.waiting.clear();
    this.ready.clear();
    this.client.close();
  }

  private flush(key: string): void {
    const batch = this.gathering.get(key);
    if (!batch) return;
    batch.cancel();
    this.gathering.delete(key);
    const { maxNotificationsPerPost, slowDelayMs } = this.deps.options;
    const delay = batch.kind === 'change' && this.deps.health.state(batch.url) === 'slow' ? slowDelayMs : 0;
    for (let i = 0; i < batch.items.length; i += maxNotificationsPerPost) {
      const delivery: Delivery = {
        id: guid(),
        url: batch.url,
        kind: batch.kind,
        items: batch.items.slice(i, i + maxNotificationsPerPost),
        attempt: 0,
        firstAttemptMs: undefined,
        duplicate: false,
      };
      // Held back on its own (`delayDeliveryRate`), so POSTs made after it go first: Graph keeps no order between POSTs.
      const hold = batch.kind === 'change' ? this.deps.faults.holdBackMs() : 0;
      this.scheduleAt(delivery, this.deps.clock.now() + delay + hold);
    }
  }

  private scheduleAt(delivery: Delivery, atMs: number, retry?: Redelivery): void {
    if (this.stopped) return;
    if (atMs <= this.deps.clock.now()) {
      this.makeReady(delivery);
      return;
    }
    if (retry) this.retrying.set(delivery.id, retry);
    const cancel = this.deps.clock.at(atMs, () => {
      this.waiting.delete(cancel);
      this.retrying.delete(delivery.id);
      this.makeReady(delivery);
    });
    this.waiting.add(cancel);
  }

  private makeReady(delivery: Delivery): void {
    const list = this.ready.get(delivery.url) ?? [];
    list.push(delivery);
    this.ready.set(delivery.url, list);
    this.pump(delivery.url);
  }

  private pump(url: string): void {
    const list = this.ready.get(url);
    while (!this.stopped && list?.length && (this.inFlight.get(url) ?? 0) < this.deps.options.concurrencyPerUrl) {
      const delivery = list.shift()!;
      this.inFlight.set(url, (this.inFlight.get(url) ?? 0) + 1);
      void this.send(delivery).finally(() => {
        this.inFlight.set(url, (this.inFlight.get(url) ?? 1) - 1);
        this.pump(url);
      });
    }
  }

  private async send(delivery: Delivery): Promise<void> {
    const { clock, options } = this.deps;
    const now = clock.now();
    const live: Item[] = [];
    const paused: Item[] = [];
    for (const item of delivery.items) {
      // Lifecycle notifications outlive their subscription (subscriptionRemoved is about a gone one).
      const state = delivery.kind === 'lifecycle' ? 'active' : this.deps.subscriptionState(item.sub);
      if (state === 'gone') {
        // A duplicate's notifications were delivered once already: that stays their fate.
        if (!delivery.duplicate) this.finish([item], 'dropped', 'subscriptionGone');
      } else if (state === 'paused') paused.push(item);
      else live.push(item);
    }
    if (paused.length) {
      // Unauthorized subscriptions are held, not attempted, and do not count against the endpoint.
      const expired = paused.filter((i) => now - i.createdMs >= options.retryForMs);
      if (expired.length && !delivery.duplicate) this.lose(expired, 'retriesExhausted');
      const held = paused.filter((i) => now - i.createdMs < options.retryForMs);
      if (held.length) this.scheduleAt({ ...delivery, id: guid(), items: held }, now + options.retryBaseDelayMs);
    }
    if (!live.length) return;
    delivery.items = live;
    delivery.attempt++;
    delivery.firstAttemptMs ??= now;
    const retry = delivery.attempt > 1;
    const timeoutMs = retry ? options.retryTimeoutMs : options.firstAttemptTimeoutMs;
    for (const item of live) item.record.attempts++;
    const started = performance.now();
    let status: number | undefined;
    let error: string | undefined;
    let outcome: AttemptOutcome;
    const wire = { url: delivery.url, since: started, phase: 'request' };
    this.onWire.set(delivery.id, wire);
    try {
      const rich = new Map<string, { appId: string; tenantId: string }>();
      for (const i of live)
        if (i.sub.includeResourceData && delivery.kind === 'change')
          rich.set(`${i.sub.applicationId}|${i.sub.tenantId}`, {
            appId: i.sub.applicationId,
            tenantId: i.sub.tenantId,
          });
      const validationTokens =
        rich.size && this.deps.validationTokens ? await this.deps.validationTokens([...rich.values()]) : undefined;
      ({ status } = await this.client.post(
        delivery.url,
        JSON.stringify({ value: live.map((i) => i.payload), ...(validationTokens ? { validationTokens } : {}) }),
        {
          'Content-Type': 'application/json; charset=utf-8',
          'User-Agent': 'graph-sim (Microsoft Graph change notifications)',
        },
        timeoutMs,
      ));
      outcome = status >= 200 && status < 300 ? 'delivered' : 'rejected';
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      outcome = e.name === 'TimeoutError' ? 'timeout' : 'error';
      error = outcome === 'timeout' ? `no answer within ${timeoutMs} ms` : (e.code ?? e.message);
    } finally {
      this.onWire.delete(delivery.id);
    }
    const durationMs = performance.now() - started;
    if (this.stopped) return;
    this.deps.records.attempts.push({
      deliveryId: delivery.id,
      url: delivery.url,
      kind: delivery.kind,
      attempt: delivery.attempt,
      notificationIds: live.map((i) => i.record.id),
      at: new Date(now).toISOString(),
      durationMs: Math.round(durationMs),
      ...(status !== undefined ? { status } : {}),
      ...(error !== undefined ? { error } : {}),
      outcome,
      ...(delivery.duplicate ? { duplicate: true as const } : {}),
    });
    if (delivery.kind === 'change') this.deps.health.observe(delivery.url, durationMs, outcome === 'timeout', retry);
    if (outcome === 'delivered') {
      if (delivery.duplicate) {
        const at = clock.nowIso();
        for (const item of live) item.record.duplicateDeliveredAt = at;
        return;
      }
      this.finish(live, 'delivered');
      // At least once, not exactly once: Graph sometimes POSTs notifications it already delivered again, as a
      // new delivery with retries of its own. A duplicate is never duplicated again.
      const againMs = delivery.kind === 'change' ? this.deps.faults.duplicateAfterMs() : undefined;
      if (againMs !== undefined)
        this.scheduleAt(
          {
            id: guid(),
            url: delivery.url,
            kind: delivery.kind,
            items: [...live],
            attempt: 0,
            firstAttemptMs: undefined,
            duplicate: true,
          },
          clock.now() + againMs,
        );
      return;
    }
    const after = clock.now();
    if (after - delivery.firstAttemptMs >= options.retryForMs) {
      // A duplicate that never got through loses nothing: its notifications were delivered the first time.
      if (!delivery.duplicate) this.lose(live, 'retriesExhausted');
      return;
    }
    const backoff = Math.min(options.retryBaseDelayMs * 2 ** (delivery.attempt - 1), options.retryMaxDelayMs);
    // The last retry happens at the end of the window at the latest, never after it.
    const atMs = Math.min(after + backoff, delivery.firstAttemptMs + options.retryForMs);
    this.scheduleAt(delivery, atMs, {
      url: delivery.url,
      kind: delivery.kind,
      attempt: delivery.attempt + 1,
      atMs,
      notifications: live.length,
      ...(status !== undefined ? { lastStatus: status } : {}),
      ...(error !== undefined ? { lastError: error } : {}),
    });
  }

  private finish(items: Item[], state: 'delivered' | 'dropped', reason?: string): void {
    const at = this.deps.clock.nowIso();
    for (const { record } of items) {
      record.state = state;
      if (state === 'delivered') record.deliveredAt = at;
      else record.droppedReason = reason;
    }
  }

  private lose(items: Item[], reason: string): void {
    this.finish(items, 'dropped', reason);
    const subs = new Map<string, Subscription>();
    for (const item of items) if (item.record.kind === 'change') subs.set(item.sub.id, item.sub);
    for (const sub of subs.values()) this.deps.onLost(sub);
  }
}
