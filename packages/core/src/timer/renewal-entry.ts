import { ConfigError } from '../errors.ts';
import { jsonLogger } from '../logger.ts';
import { jsonResponse, type CoreResponse } from '../model/http.ts';
import { verifyRenewalCaller } from './renewal-gate.ts';
import type { TimerApp } from './renewal.ts';

/**
 * The HTTP renewal entry (GCP, Cloud Scheduler with an OIDC token): the caller first, so a call without the
 * scheduler's token never makes the app load; then the app, then the run. The adapter only translates HTTP.
 */
export async function renewalHttpEntry(
  getApp: () => Promise<TimerApp>,
  request: { authorization: string | undefined; traceparent: string | undefined },
  env: Record<string, string | undefined>,
): Promise<CoreResponse> {
  const caller = await verifyRenewalCaller(request.authorization, env);
  if (!caller.ok) {
    const code = caller.status === 401 ? 'Unauthorized' : caller.status === 403 ? 'Forbidden' : 'NotConfigured';
    return jsonResponse(
      caller.status,
      { error: { code, message: caller.reason } },
      caller.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {},
    );
  }
  let app: TimerApp;
  try {
    app = await getApp();
  } catch (err) {
    jsonLogger.error('graph2kafka cannot start', {
      problems: err instanceof ConfigError ? err.problems : [String(err)],
    });
    return jsonResponse(503, {
      error: { code: 'NotConfigured', message: 'graph2kafka is not configured; see the function logs' },
    });
  }
  // Loaded with the app, not with this light entry: the renewal pulls in Kafka, Graph and the store.
  const { renewalRequest } = await import('./renewal.ts');
  return renewalRequest(app, request.authorization, (line) => jsonLogger.info(line), request.traceparent);
}

/** The timer-triggered renewal entry (Azure): a run with errors throws, so it shows in the platform's monitoring. */
export async function renewalTimerEntry(getApp: () => Promise<TimerApp>, log: (line: string) => void): Promise<void> {
  const { runRenewal } = await import('./renewal.ts');
  const report = await runRenewal(await getApp(), log);
  if (report.errors.length)
    throw new Error(
      `subscription renewal had ${report.errors.length} error(s): ${report.errors.slice(0, 5).join('; ')}`,
    );
}
