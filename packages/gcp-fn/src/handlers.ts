import type { Request, Response } from '@google-cloud/functions-framework';
import type { Graph2Kafka } from '@graph2kafka/core';
import { answerHandshake, ConfigError, jsonLogger, jsonResponse, type CoreResponse } from '@graph2kafka/core/http';

export type AppProvider = () => Promise<Graph2Kafka>;
type Kind = 'notifications' | 'lifecycle';

function send(res: Response, answer: CoreResponse): void {
  res.status(answer.status).set(answer.headers).send(answer.body);
}

function rawBody(req: Request): Buffer | undefined {
  if (req.rawBody?.length) return req.rawBody;
  return Buffer.isBuffer(req.body) && req.body.length ? req.body : undefined;
}

/** A functions-framework HTTP handler: request → core → response. No Graph or Kafka rule lives here. */
export function httpHandler(kind: Kind, getApp: AppProvider): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const receivedAt = Date.now();
    const query = new URL(req.originalUrl || req.url, 'http://function.invalid').searchParams;
    // The handshake needs no configuration: answer it before loading anything (Graph allows 10 s, cold start included).
    const handshake = answerHandshake(req.method, query);
    if (handshake) return send(res, handshake);
    let app: Graph2Kafka;
    try {
      app = await getApp();
    } catch (err) {
      jsonLogger.error('graph2kafka cannot start', {
        problems: err instanceof ConfigError ? err.problems : [String(err)],
      });
      return send(
        res,
        jsonResponse(
          503,
          { error: { code: 'NotConfigured', message: 'graph2kafka is not configured; see the function logs' } },
          { 'Retry-After': '60' },
        ),
      );
    }
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const coreRequest = { method: req.method, query, headers, body: rawBody(req), receivedAt };
    const answer =
      kind === 'notifications'
        ? await app.receiver.handleNotifications(coreRequest)
        : await app.receiver.handleLifecycle(coreRequest);
    send(res, answer);
  };
}
