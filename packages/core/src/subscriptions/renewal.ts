import type { Graph2Kafka } from '../app.ts';
import { jsonResponse, type CoreResponse } from '../receive/http.ts';
import type { ReconcileReport } from './manager.ts';
import { verifySchedulerToken } from './scheduler-auth.ts';

export class RenewalNotConfigured extends Error {
  constructor() {
    super('the subscription manager is off: set G2K_NOTIFICATION_URL, G2K_LIFECYCLE_URL and G2K_SUBSCRIBE_USERS');
    this.name = 'RenewalNotConfigured';
  }
}

/** One timer run: reconcile the subscriptions and finish owed resyncs. */
export async function runRenewal(
  app: Graph2Kafka,
  progress: (line: string) => void = () => undefined,
): Promise<ReconcileReport> {
  if (!app.manager) throw new RenewalNotConfigured();
  return app.manager.reconcile(progress);
}

/** The HTTP renewal endpoint (GCP, called by Cloud Scheduler): authenticate, run, answer with the report. */
export async function renewalRequest(
  app: Graph2Kafka,
  authorization: string | undefined,
  progress?: (line: string) => void,
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
  const report = await runRenewal(app, progress);
  // Errors make the run fail visibly (Cloud Scheduler retries and alerts on non-2xx).
  return jsonResponse(report.errors.length ? 500 : 200, report);
}
