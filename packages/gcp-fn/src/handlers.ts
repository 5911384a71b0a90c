import type { Request, Response } from '@google-cloud/functions-framework';
import type { Graph2Kafka } from '@graph2kafka/core';
import { graphWebhook, jsonLogger, type CoreResponse } from '@graph2kafka/core/http';
import { gcpRequestLogger, projectOf, requestLogs } from './logging.ts';

export type AppProvider = () => Promise<Graph2Kafka>;

function send(res: Response, answer: CoreResponse): void {
  res.status(answer.status).set(answer.headers).send(answer.body);
}

/** The wire guard has read the body (`rawBody`); it is handed over as bytes, whatever its content type. */
function rawBody(req: Request): Buffer | undefined {
  if (req.rawBody?.length) return req.rawBody;
  return Buffer.isBuffer(req.body) && req.body.length ? req.body : undefined;
}

/**
 * A functions-framework HTTP handler for both Graph URLs: request → core's webhook → response. No Graph or
 * Kafka rule lives here.
 */
export function httpHandler(getApp: AppProvider): (req: Request, res: Response) => Promise<void> {
  const webhook = graphWebhook(getApp, jsonLogger);
  const project = projectOf(process.env);
  return async (req, res) => {
    const receivedAt = Date.now();
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const body = rawBody(req);
    const logger = gcpRequestLogger(headers, project);
    const answer = await requestLogs.run(logger, () =>
      webhook(
        {
          method: req.method,
          query: new URL(req.originalUrl || req.url, 'http://function.invalid').searchParams,
          headers,
          readBody: (limit) => Promise.resolve(body && body.length > limit ? 'too_large' : body),
          receivedAt,
        },
        logger,
      ),
    );
    send(res, answer);
  };
}
