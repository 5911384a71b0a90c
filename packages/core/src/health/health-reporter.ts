import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { SLOW_ANSWER_MS } from '../metrics/metrics.ts';
import type { TaskFigures } from '../model/feature.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import { healthCollection } from './health-collection.ts';
import type { AnswerWindowRecord, HealthRecord, TimerRunRecord } from './health-types.ts';
import type { ReconcileReport } from '../subscriptions/report.ts';

/** Timer runs kept for `graph2kafka status`. */
const TIMER_RUNS_KEPT = 48;
/** Answer windows older than this are pruned by the timer run. */
const ANSWERS_KEPT_MS = 24 * 3_600_000;

type ItemOutcome = 'produced' | 'rejected' | 'dead_lettered' | 'retry_later';

/**
 * Leaves in the state store what `graph2kafka status` reads: each instance's answers to Graph, summed over a
 * window and written at most once per window (in the background, never on the answer path), and one record per
 * timer run. The metrics backend has the same figures; this is what an operator can read with the CLI alone.
 */
export class HealthReporter {
  private readonly records: Collection<HealthRecord>;
  private readonly windowMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly instance = randomUUID().slice(0, 8);
  private window: AnswerWindowRecord;
  private writing: Promise<void> = Promise.resolve();
  /** Writes a window that has answers once it is due, even when no further POST comes to trigger it. */
  private timer: NodeJS.Timeout | undefined;

  constructor(store: DocumentStore, windowMs: number, logger: Logger, now: () => number = Date.now) {
    this.records = new Collection(store, healthCollection);
    this.windowMs = windowMs;
    this.logger = logger;
    this.now = now;
    this.window = this.fresh();
  }

  item(outcome: ItemOutcome): void {
    const items = this.window.items;
    if (outcome === 'produced') items.produced++;
    else if (outcome === 'rejected') items.rejected++;
    else if (outcome === 'dead_lettered') items.deadLettered++;
    else items.retryLater++;
  }

  notEnriched(count: number, reason: string): void {
    this.window.items.unenriched += count;
    if (reason === 'read_limit') this.window.items.readLimited = (this.window.items.readLimited ?? 0) + count;
  }

  answered(status: number, ms: number): void {
    const key = String(status);
    this.window.statuses[key] = (this.window.statuses[key] ?? 0) + 1;
    if (ms > SLOW_ANSWER_MS) this.window.slow++;
    if (this.now() - Date.parse(this.window.from) >= this.windowMs) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), Date.parse(this.window.from) + this.windowMs - this.now());
      // An idle instance must still be able to end.
      this.timer.unref();
    }
  }

  /** Writes the current window if it holds anything; the next one starts now. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const done = { ...this.window, to: new Date(this.now()).toISOString() };
    this.window = this.fresh();
    if (!Object.keys(done.statuses).length) return this.writing;
    this.writing = this.writing
      .then(() => this.records.put(done))
      .catch((err: unknown) =>
        this.logger.warn('writing the answer summary for graph2kafka status failed', { error: errorMessage(err) }),
      );
    return this.writing;
  }

  /** One timer run's record; old runs and windows are pruned here, off the answer path. */
  async timerRun(
    startedAt: number,
    seconds: number,
    report: (ReconcileReport & { tasks: Record<string, TaskFigures> }) | undefined,
    failure: string | undefined,
  ): Promise<void> {
    const record: TimerRunRecord = {
      type: 'timer_run',
      id: `timer-${startedAt}`,
      startedAt: new Date(startedAt).toISOString(),
      seconds: Math.round(seconds * 10) / 10,
      ok: !failure && !report?.errors.length,
      errors: [...(failure ? [failure] : []), ...(report?.errors ?? [])].slice(0, 5).map((e) => e.slice(0, 300)),
      created: report?.created.length ?? 0,
      renewed: report?.renewed.length ?? 0,
      recreated: report?.recreated.length ?? 0,
      deferred: report?.deferred ?? 0,
      repaired: (report?.tasks.repair?.repaired ?? 0) + (report?.tasks.repair?.gone ?? 0),
      repairLeft: report?.tasks.repair?.left ?? 0,
    };
    try {
      await this.records.put(record);
      const all = await this.records.list();
      const runs = all.filter((r) => r.type === 'timer_run').sort((a, b) => b.id.localeCompare(a.id));
      const old = this.now() - ANSWERS_KEPT_MS;
      const stale = [
        ...runs.slice(TIMER_RUNS_KEPT),
        ...all.filter((r) => r.type === 'answers' && Date.parse(r.to) < old),
      ];
      for (const r of stale) await this.records.delete(r.id);
    } catch (err) {
      this.logger.warn('recording the timer run for graph2kafka status failed', { error: errorMessage(err) });
    }
  }

  private fresh(): AnswerWindowRecord {
    const from = this.now();
    return {
      type: 'answers',
      id: `answers-${from}-${this.instance}`,
      instance: this.instance,
      from: new Date(from).toISOString(),
      to: new Date(from).toISOString(),
      statuses: {},
      slow: 0,
      items: { produced: 0, rejected: 0, deadLettered: 0, retryLater: 0, unenriched: 0 },
    };
  }
}
