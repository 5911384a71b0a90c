import type { RenewalAuth } from '../config/config.ts';
import { errorMessage } from '../errors.ts';
import type { HealthReporter } from '../health/health-reporter.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { Budget, TIMER_RUN_MS } from '../model/budget.ts';
import type { Feature, TaskFigures } from '../model/feature.ts';
import { jsonResponse, type CoreResponse } from '../model/http.ts';
import type { SubscriptionManager } from '../subscriptions/manager.ts';
import type { ReconcileReport } from '../subscriptions/report.ts';
import { runTraced } from '../trace/traceparent.ts';
import { verifySchedulerToken } from './scheduler-auth.ts';

export class RenewalNotConfigured extends Error {
  constructor() {
    super(
      'the subscription manager is off: set G2K_NOTIFICATION_URL, G2K_LIFECYCLE_URL and the desired state (G2K_SUBSCRIPTIONS_FILE, or G2K_SUBSCRIBE_USERS)',
    );
    this.name = 'RenewalNotConfigured';
  }
}

/** Reconciling subscriptions (with the delta rounds owed) takes the first half of the run; features follow. */
const RECONCILE_SHARE_MS = 5 * 60_000;

/** What a timer run works on: the subscriptions, the features' tasks, and where its outcome is recorded. */
export interface TimerApp {
  manager: SubscriptionManager | undefined;
  features: readonly Feature[];
  metrics: Metrics;
  health: HealthReporter;
  config: { renewalAuth: RenewalAuth | undefined };
}

export type RenewalReport = ReconcileReport & { tasks: Record<string, TaskFigures> };

/** One timer run: reconcile the subscriptions, finish owed resyncs, repair unenriched records, expand series. */
export function runRenewal(
  app: TimerApp,
  progress: (line: string) => void = () => undefined,
  /** The caller's W3C traceparent (Cloud Scheduler's request), if any: the run's records continue its trace. */
  traceparent?: string,
): Promise<RenewalReport> {
  return runTraced(traceparent, () => renewal(app, progress));
}

async function renewal(app: TimerApp, progress: (line: string) => void): Promise<RenewalReport> {
  if (!app.manager) throw new RenewalNotConfigured();
  const manager = app.manager;
  const started = Date.now();
  let result: RenewalReport | undefined;
  let failure: string | undefined;
  try {
    const run = Budget.of(TIMER_RUN_MS);
    const report = await manager.reconcile(progress, run.part(RECONCILE_SHARE_MS).deadline);
    const tasks: Record<string, TaskFigures> = {};
    // The features' tasks in the order they were registered, each within its share of what the run has left.
    for (const feature of app.features)
      if (feature.timer) tasks[feature.timer.name] = await feature.timer.run(run.part(feature.timer.shareMs), progress);
    result = { ...report, tasks };
    return result;
  } catch (err) {
    failure = errorMessage(err);
    throw err;
  } finally {
    // Recorded even when the run threw: "the renewal run failing" is what the alert and the status watch.
    const seconds = (Date.now() - started) / 1_000;
    const snapshot = await manager.snapshot().catch(() => undefined);
    app.metrics.timerRun(!failure && !result?.errors.length, seconds, snapshot);
    await app.health.timerRun(started, seconds, result, failure);
  }
}

/** The HTTP renewal endpoint (GCP, called by Cloud Scheduler): authenticate, run, answer with the report. */
export async function renewalRequest(
  app: TimerApp,
  authorization: string | undefined,
  progress?: (line: string) => void,
  /** Cloud Scheduler's request's traceparent, if any: the run's records continue its trace. */
  traceparent?: string,
): Promise<CoreResponse> {
  const verdict = await verifySchedulerToken(authorization, app.config.renewalAuth);
  if (!verdict.ok) {
    return jsonResponse(
      verdict.status,
      { error: { code: verdict.status === 401 ? 'Unauthorized' : 'Forbidden', message: verdict.reason } },
      verdict.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {},
    );
  }
  if (!app.manager)
    return jsonResponse(503, { error: { code: 'NotConfigured', message: new RenewalNotConfigured().message } });
  const report = await runRenewal(app, progress, traceparent);
  // Errors make the run fail visibly (Cloud Scheduler retries and alerts on non-2xx).
  return jsonResponse(report.errors.length ? 500 : 200, report);
}
