import type { Attributes, Counter, Histogram, Meter, MeterProvider, ObservableResult } from '@opentelemetry/api';
import type { KindName } from '../kinds/index.ts';

/** How Graph's answer is judged "slow" (its own threshold is 3 s; its docs since 2023 mention 2,900 ms). */
export const SLOW_ANSWER_MS = 2_900;

/** Where a subscription stands, as the store records it (judged against Graph's clock at the timer run). */
export type SubscriptionState = 'active' | 'renewal_due' | 'expired' | 'pending';

/** The timer's view of the subscriptions, observed as gauges until the next run replaces it. */
export interface SubscriptionSnapshot {
  counts: Array<{ kind: KindName; state: SubscriptionState; count: number }>;
  /** Seconds until the soonest expiry of a live subscription; absent when there is none. */
  nextExpirySeconds?: number;
  /** When the snapshot was taken (the gauge reports the seconds left as of collection). */
  takenAt: number;
}

/** What else hears of each answer and item (the health reporter, for `graph2kafka status`). */
export interface MetricsTap {
  item(outcome: 'produced' | 'rejected' | 'dead_lettered' | 'retry_later'): void;
  answered(status: number, ms: number): void;
  notEnriched(count: number, reason: string): void;
}

const MS_BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_000, 2_900, 5_000, 10_000];

/**
 * The instruments graph2kafka records, on OpenTelemetry's API only: which exporter (Azure Monitor, Google
 * Cloud's OTLP endpoint, the console, a test's in-memory reader) receives them is the MeterProvider's business.
 * Names and attributes are the contract of the alert rules in infra/ and of docs/operations.md; attribute values
 * are closed sets (never an id, never free text), so no series multiplies with traffic.
 */
export class Metrics {
  private readonly notifications: Counter;
  private readonly posts: Counter;
  private readonly slowPosts: Counter;
  private readonly answerDuration: Histogram;
  private readonly unenriched: Counter;
  private readonly repairs: Counter;
  private readonly seriesExpansions: Counter;
  private readonly richItems: Counter;
  private readonly deadLetters: Counter;
  private readonly fencedRecords: Counter;
  private readonly snapshotItems: Counter;
  private readonly kafkaSendDuration: Histogram;
  private readonly kafkaRecords: Counter;
  private readonly graphRequests: Counter;
  private readonly graphThrottled: Counter;
  private readonly tokenFailures: Counter;
  private readonly timerRuns: Counter;
  private readonly timerDuration: Histogram;
  private snapshot: SubscriptionSnapshot | undefined;
  private lastRun: { ok: boolean; seconds: number } | undefined;
  private readonly now: () => number;
  private readonly tap: MetricsTap | undefined;

  constructor(provider: MeterProvider, tap?: MetricsTap, now: () => number = Date.now) {
    this.now = now;
    this.tap = tap;
    const meter: Meter = provider.getMeter('graph2kafka');
    const ms = { unit: 'ms', advice: { explicitBucketBoundaries: MS_BUCKETS } };
    this.notifications = meter.createCounter('g2k.notifications', {
      description: 'Items of notification POSTs, by outcome (produced, rejected, dead_lettered, retry_later)',
    });
    this.posts = meter.createCounter('g2k.posts', { description: 'Notification POSTs answered, by HTTP status' });
    this.slowPosts = meter.createCounter('g2k.posts.slow', {
      description: `Notification POSTs answered after ${SLOW_ANSWER_MS} ms (Graph counts these toward "slow")`,
    });
    this.answerDuration = meter.createHistogram('g2k.answer.duration', {
      description: 'From receipt of a notification POST to its answer (202 only once Kafka acknowledged)',
      ...ms,
    });
    this.unenriched = meter.createCounter('g2k.unenriched', {
      description: 'Records produced without their item, by reason; each is queued for repair',
    });
    this.repairs = meter.createCounter('g2k.repairs', {
      description: 'Repair outcomes: repaired, gone (the item no longer exists), abandoned',
    });
    this.seriesExpansions = meter.createCounter('g2k.series.expansions', {
      description:
        'Recurring series expanded into occurrence records, by result: expanded (a master changed), advanced (a new day came into the window), gone, failed',
    });
    this.richItems = meter.createCounter('g2k.rich.items', {
      description:
        'Rich notification items, by result: decrypted (no read), no_content, unproven (validationTokens failed: read instead), invalid (tampered: rejected), id_mismatch, unknown_key (read instead), key_pending (retried)',
    });
    this.fencedRecords = meter.createCounter('g2k.fence', {
      description:
        'Records the key fence held back or keys sent for a re-read, by outcome (superseded, overtaken, carried_item_lost, gone_after_change)',
    });
    this.snapshotItems = meter.createCounter('g2k.snapshot.items', {
      description: 'Existing items produced by snapshots of newly subscribed targets, by kind',
    });
    this.deadLetters = meter.createCounter('g2k.dead_letters', {
      description: 'Changes written to the dead-letter topic, by reason',
    });
    this.kafkaSendDuration = meter.createHistogram('g2k.kafka.send.duration', {
      description: 'One produce request to Kafka until acknowledged (acks=all), by result',
      ...ms,
    });
    this.kafkaRecords = meter.createCounter('g2k.kafka.records', {
      description: 'Records Kafka acknowledged, by topic',
    });
    this.graphRequests = meter.createCounter('g2k.graph.requests', {
      description: 'Graph HTTP requests, by status class (2xx, 4xx, 429, 5xx, error)',
    });
    this.graphThrottled = meter.createCounter('g2k.graph.throttled', {
      description: 'Graph answers that throttled (429, and 503 with Retry-After), including $batch items',
    });
    this.tokenFailures = meter.createCounter('g2k.token.failures', {
      description: 'App-only token requests to Entra ID that failed',
    });
    this.timerRuns = meter.createCounter('g2k.timer.runs', { description: 'Timer runs, by result (ok, failed)' });
    this.timerDuration = meter.createHistogram('g2k.timer.duration', { description: 'Timer run duration', unit: 's' });
    meter
      .createObservableGauge('g2k.subscriptions', {
        description: 'Subscriptions in the state store by kind and state, as of the last timer run',
      })
      .addCallback((result) => this.observeSubscriptions(result));
    meter
      .createObservableGauge('g2k.subscriptions.next_expiry', {
        description: 'Seconds until the soonest subscription expiry, as of collection',
        unit: 's',
      })
      .addCallback((result) => {
        const s = this.snapshot;
        if (s?.nextExpirySeconds !== undefined) result.observe(s.nextExpirySeconds - (this.now() - s.takenAt) / 1_000);
      });
    meter
      .createObservableGauge('g2k.timer.last_run.ok', { description: '1 when the last timer run succeeded, else 0' })
      .addCallback((result) => {
        if (this.lastRun) result.observe(this.lastRun.ok ? 1 : 0);
      });
    meter
      .createObservableGauge('g2k.timer.last_run.duration', { description: 'The last timer run', unit: 's' })
      .addCallback((result) => {
        if (this.lastRun) result.observe(this.lastRun.seconds);
      });
  }

  item(outcome: 'produced' | 'rejected' | 'dead_lettered' | 'retry_later', reason?: string): void {
    this.notifications.add(1, reason ? { outcome, reason } : { outcome });
    this.tap?.item(outcome);
  }

  answered(status: number, ms: number): void {
    const attributes = { status: String(status) };
    this.posts.add(1, attributes);
    this.answerDuration.record(ms, attributes);
    if (ms > SLOW_ANSWER_MS) this.slowPosts.add(1, attributes);
    this.tap?.answered(status, ms);
  }

  notEnriched(reason: string, count = 1): void {
    this.unenriched.add(count, { reason });
    this.tap?.notEnriched(count, reason);
  }

  repaired(result: 'repaired' | 'gone' | 'abandoned' | 'refused', count = 1): void {
    if (count) this.repairs.add(count, { result });
  }

  seriesExpanded(result: 'expanded' | 'advanced' | 'gone' | 'failed' | 'unchanged', count = 1): void {
    if (count) this.seriesExpansions.add(count, { result });
  }

  richItem(result: string): void {
    this.richItems.add(1, { result });
  }

  /** Records the fence held back (superseded) or keys it sent to be read again. */
  fenced(outcome: string, n = 1): void {
    if (n > 0) this.fencedRecords.add(n, { outcome });
  }

  snapshotProduced(kind: string, n: number): void {
    if (n > 0) this.snapshotItems.add(n, { kind });
  }

  deadLettered(reason: string): void {
    this.deadLetters.add(1, { reason });
  }

  kafkaSend(ms: number, ok: boolean, records: Map<string, number>): void {
    this.kafkaSendDuration.record(ms, { result: ok ? 'ok' : 'failed' });
    if (ok) for (const [topic, n] of records) this.kafkaRecords.add(n, { topic });
  }

  graphAnswer(status: number | 'error', throttled: boolean): void {
    this.graphRequests.add(1, { status: statusClass(status) });
    if (throttled) this.graphThrottled.add(1, { source: 'request' });
  }

  /** A `$batch` item that was throttled inside a 200 answer. */
  graphItemThrottled(): void {
    this.graphThrottled.add(1, { source: 'batch_item' });
  }

  tokenFailed(): void {
    this.tokenFailures.add(1);
  }

  timerRun(ok: boolean, seconds: number, subscriptions: SubscriptionSnapshot | undefined): void {
    const attributes: Attributes = { result: ok ? 'ok' : 'failed' };
    this.timerRuns.add(1, attributes);
    this.timerDuration.record(seconds, attributes);
    this.lastRun = { ok, seconds };
    if (subscriptions) this.snapshot = subscriptions;
  }

  private observeSubscriptions(result: ObservableResult): void {
    for (const c of this.snapshot?.counts ?? []) result.observe(c.count, { kind: c.kind, state: c.state });
  }
}

function statusClass(status: number | 'error'): string {
  if (status === 'error') return 'error';
  if (status === 429) return '429';
  return `${Math.floor(status / 100)}xx`;
}
