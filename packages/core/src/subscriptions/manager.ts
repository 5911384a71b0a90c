import type { SubscriptionContext } from './context.ts';
import type { SubscriptionSnapshot } from '../metrics/metrics.ts';
import { subscriptionSnapshot } from '../metrics/subscription-snapshot.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import { LifecycleActions } from './lifecycle.ts';
import type { BackgroundWork } from '../work/background-work.ts';
import { SubscriptionOperations } from './operations.ts';
import { Planner } from './plan.ts';
import { Reconciler } from './reconcile.ts';
import type { ReconcileReport } from './report.ts';
import { DeltaRounds } from './rounds.ts';
import { SubscriptionWrites } from './writes.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import { syncCollection } from './sync-collection.ts';

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
  private readonly ctx: SubscriptionContext;

  constructor(
    deps: Omit<SubscriptionContext, 'now' | 'syncStates'> & {
      documents: DocumentStore;
      /** Where the lifecycle drain runs after a POST recorded its action (absent: only the timer drains). */
      work?: BackgroundWork;
      now?: (() => number) | undefined;
    },
  ) {
    const { documents, work, ...rest } = deps;
    const ctx: SubscriptionContext = {
      ...rest,
      syncStates: new Collection(documents, syncCollection),
      now: deps.now ?? Date.now,
    };
    const writes = new SubscriptionWrites(ctx);
    this.rounds = new DeltaRounds(ctx);
    this.reconciler = new Reconciler(ctx, new Planner(ctx), writes, this.rounds);
    this.lifecycle = new LifecycleActions(ctx, writes, documents, work);
    this.operations = new SubscriptionOperations(ctx, writes);
    this.ctx = ctx;
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
    return subscriptionSnapshot(
      await this.ctx.store.list(),
      this.ctx.now(),
      this.ctx.settings.renewWithinMinutes * 60_000,
    );
  }
}
