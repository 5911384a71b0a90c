import type { Config, SubscriptionSettings } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { SubscriptionSnapshot } from '../metrics/metrics.ts';
import { subscriptionSnapshot } from '../metrics/subscription-snapshot.ts';
import type { SubscriptionStore } from '../state/subscription-store.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import { LifecycleActions } from './lifecycle.ts';
import type { SubscriptionModes } from './mode.ts';
import { SubscriptionOperations } from './operations.ts';
import { Planner } from './plan.ts';
import { Reconciler } from './reconcile.ts';
import type { ReconcileReport } from './report.ts';
import type { Resyncer } from './resync.ts';
import { DeltaRounds } from './rounds.ts';
import type { SubscriptionApi } from './subscription-api.ts';
import { SubscriptionWrites } from './writes.ts';

/**
 * The subscriptions' side of graph2kafka, one part per job: `reconcile` (the timer's run: plan, then act),
 * `lifecycle` (Graph's lifecycle events) and `operations` (the ops CLI). They share one set of writes, so a
 * subscription is created, renewed and removed the same way whoever asks.
 */
export class SubscriptionManager {
  readonly lifecycle: LifecycleActions;
  readonly operations: SubscriptionOperations;
  private readonly reconciler: Reconciler;
  private readonly rounds: DeltaRounds;
  private readonly store: SubscriptionStore;
  private readonly settings: SubscriptionSettings;
  private readonly now: () => number;

  constructor(deps: {
    config: Config;
    settings: SubscriptionSettings;
    api: SubscriptionApi;
    store: SubscriptionStore;
    resyncer: Resyncer;
    modes: SubscriptionModes;
    logger: Logger;
    now?: () => number;
  }) {
    const writes = new SubscriptionWrites(deps);
    this.rounds = new DeltaRounds(deps);
    this.reconciler = new Reconciler({
      ...deps,
      planner: new Planner(deps),
      writes,
      rounds: this.rounds,
    });
    this.lifecycle = new LifecycleActions({ ...deps, writes });
    this.operations = new SubscriptionOperations({ ...deps, writes });
    this.store = deps.store;
    this.settings = deps.settings;
    this.now = writes.now;
  }

  /**
   * One reconcile run within `deadline`: what does not fit is deferred to the next run, most urgent first, and
   * the delta rounds owed or due follow.
   */
  reconcile(progress?: (line: string) => void, deadline?: number): Promise<ReconcileReport> {
    return this.reconciler.reconcile(progress, deadline);
  }

  /** The delta rounds owed or due (snapshots, resyncs, the sweep), within `deadline`. */
  resyncPending(report?: ReconcileReport, deadline?: number, stored?: SubscriptionRecord[]): Promise<void> {
    return this.rounds.run(report, deadline, stored);
  }

  /** The stored subscriptions by kind and state, judged on Graph's clock: what the timer's gauges report. */
  async snapshot(): Promise<SubscriptionSnapshot> {
    return subscriptionSnapshot(await this.store.list(), this.now(), this.settings.renewWithinMinutes * 60_000);
  }
}
