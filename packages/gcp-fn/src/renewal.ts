import type { Request, Response } from '@google-cloud/functions-framework';
import { renewalHttpEntry } from '@graph2kafka/core/http';
import type { AppProvider } from './handlers.ts';

/** The renewal function, for Cloud Scheduler with an OIDC token: request → core → response. */
export function renewalHandler(
  getApp: AppProvider,
  env: Record<string, string | undefined> = process.env,
): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const traceparent = req.headers.traceparent;
    const answer = await renewalHttpEntry(
      getApp,
      {
        authorization: req.headers.authorization,
        traceparent: typeof traceparent === 'string' ? traceparent : undefined,
      },
      env,
    );
    res.status(answer.status).set(answer.headers).send(answer.body);
  };
}
