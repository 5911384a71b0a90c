import type { Graph2Kafka } from '../app.ts';
import { errorMessage } from '../errors.ts';
import { jsonResponse, type CoreResponse } from '../receive/http.ts';
import type { RepairReport } from '../repair/repairer.ts';
import type { ExpansionReport } from '../series/series-types.ts';
import type { ReconcileReport } from './manager.ts';
import { verifySchedulerToken } from './scheduler-auth.ts';
import { runTraced } from '../trace/traceparent.ts';
import { TokenClaims } from '../rich/token-claims.ts';

export class RenewalNotConfigured extends Error {
  constructor() {
    super(
      'the subscription manager is off: set G2K_NOTIFICATION_URL, G2K_LIFECYCLE_URL and the desired state (G2K_SUBSCRIPTIONS_FILE, or G2K_SUBSCRIBE_USERS)',
    );
    this.name = 'RenewalNotConfigured';
  }
}

/**
 * A timer run is designed to end within 10 minutes (GCP HTTP functions allow 60, Azure Flex Consumption what is
 * configured): reconciling gets the first 5 (what does not fit is deferred to the next run, most urgent first),
 * repairing unenriched records the next 3, expanding recurring series (due ones, then windows that moved) 1.5.
 */
const RECONCILE_SHARE_MS = 5 * 60_000;
const REPAIR_SHARE_MS = 3 * 60_000;
const SERIES_SHARE_MS = 90_000;
/**
 * How long the key fence remembers a key after its last claim: far beyond any record still in flight (Graph
 * retries a POST for 4 hours; a repair is given up after 48 runs), so a forgotten key never loses a race.
 */
const FENCE_MEMORY_MS = 7 * 86_400_000;
/**
 * A key whose last record was a tombstone is forgotten sooner (past Graph's 4 hours of retries): made-up ids in
 * forged POSTs end so, and must not fill the fence for a week. A late read of such a key finds it gone again.
 */
const FENCE_GONE_MEMORY_MS = 6 * 3_600_000;
/** The longest the timer spends forgetting fence rows (Table Storage deletes them one by one). */
const FENCE_PRUNE_MS = 30_000;

export type RenewalReport = ReconcileReport & { repair: RepairReport; series: ExpansionReport };

/** One timer run: reconcile the subscriptions, finish owed resyncs, repair unenriched records, expand series. */
export function runRenewal(
  app: Graph2Kafka,
  progress: (line: string) => void = () => undefined,
  /** The caller's W3C traceparent (Cloud Scheduler's request), if any: the run's records continue its trace. */
  traceparent?: string,
): Promise<RenewalReport> {
  return runTraced(traceparent, () => renewal(app, progress));
}

async function renewal(app: Graph2Kafka, progress: (line: string) => void): Promise<RenewalReport> {
  if (!app.manager) throw new RenewalNotConfigured();
  const manager = app.manager;
  const started = Date.now();
  let result: RenewalReport | undefined;
  let failure: string | undefined;
  try {
    const report = await manager.reconcile(progress, started + RECONCILE_SHARE_MS);
    const repair = await app.repairer.drain(Date.now() + REPAIR_SHARE_MS);
    progress(
      `repaired ${repair.repaired}, gone ${repair.gone}, abandoned ${repair.abandoned}, still waiting ${repair.left}`,
    );
    const series = await app.series.drain(Date.now() + SERIES_SHARE_MS, { advance: true });
    if (series.expanded || series.advanced || series.gone || series.failed || series.left)
      progress(
        `series expanded ${series.expanded}, windows advanced ${series.advanced}, gone ${series.gone}, failed ${series.failed}, left ${series.left}`,
      );
    if (app.config.rich) {
      // Used validation tokens are remembered until they expire (an hour): the timer forgets the expired ones.
      const pruned = await new TokenClaims(app.documents).prune(new Date().toISOString()).catch(() => 0);
      if (pruned) progress(`forgot ${pruned} expired validation-token claims`);
    }
    const forgotten = await app.documents
      .keyFence()
      .prune(
        new Date(Date.now() - FENCE_MEMORY_MS),
        new Date(Date.now() - FENCE_GONE_MEMORY_MS),
        Date.now() + FENCE_PRUNE_MS,
      )
      .catch((err: unknown) => {
        progress(`pruning the key fence failed (retried next run): ${errorMessage(err)}`);
        return 0;
      });
    if (forgotten)
      progress(`the key fence forgot ${forgotten} key(s) (unclaimed for 7 days, or 6 hours after a tombstone)`);
    const previous = app.config.rich?.previous;
    if (
      previous &&
      !(await app.subscriptions.list()).some((r) => !r.pending && r.encryptionCertificateId === previous.id)
    )
      progress(
        `the previous rich-notification certificate ${previous.id} is no longer used: remove G2K_RICH_PREVIOUS_*`,
      );
    result = { ...report, repair, series };
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
  app: Graph2Kafka,
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
