import type { Request, Response } from '@google-cloud/functions-framework';
import { ConfigError, jsonLogger, verifyRenewalCaller } from '@graph2kafka/core/http';
import type { AppProvider } from './handlers.ts';

/** The renewal function, for Cloud Scheduler with an OIDC token: request → core → response. */
export function renewalHandler(
  getApp: AppProvider,
  env: Record<string, string | undefined> = process.env,
): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    // The caller first: a call without Cloud Scheduler's token never makes the app load.
    const caller = await verifyRenewalCaller(req.headers.authorization, env);
    if (!caller.ok) {
      const code = caller.status === 401 ? 'Unauthorized' : caller.status === 403 ? 'Forbidden' : 'NotConfigured';
      res
        .status(caller.status)
        .set(caller.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {})
        .json({ error: { code, message: caller.reason } });
      return;
    }
    let app;
    try {
      app = await getApp();
    } catch (err) {
      jsonLogger.error('graph2kafka cannot start', {
        problems: err instanceof ConfigError ? err.problems : [String(err)],
      });
      res
        .status(503)
        .json({ error: { code: 'NotConfigured', message: 'graph2kafka is not configured; see the function logs' } });
      return;
    }
    const { renewalRequest } = await import('@graph2kafka/core');
    const traceparent = req.headers.traceparent;
    const answer = await renewalRequest(
      app,
      req.headers.authorization,
      (line) => jsonLogger.info(line),
      typeof traceparent === 'string' ? traceparent : undefined,
    );
    res.status(answer.status).set(answer.headers).send(answer.body);
  };
}
