import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Graph2Kafka } from '@graph2kafka/core';
import { answerHandshake, ConfigError, jsonResponse, type CoreResponse } from '@graph2kafka/core/http';

import type { AppProvider } from './app-loader.ts';
type Kind = 'notifications' | 'lifecycle';

const toInit = (answer: CoreResponse): HttpResponseInit => ({
  status: answer.status,
  headers: answer.headers,
  body: answer.body,
});

/** An `@azure/functions` v4 HTTP handler: request → core → response. No Graph or Kafka rule lives here. */
export function httpHandler(
  kind: Kind,
  getApp: AppProvider,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (request, context) => {
    const receivedAt = Date.now();
    // The handshake needs no configuration: answer it before loading anything (Graph allows 10 s, cold start included).
    const handshake = answerHandshake(request.method, request.query);
    if (handshake) return toInit(handshake);
    let app: Graph2Kafka;
    try {
      app = await getApp();
    } catch (err) {
      context.error('graph2kafka cannot start', err instanceof ConfigError ? err.problems : String(err));
      return toInit(
        jsonResponse(
          503,
          { error: { code: 'NotConfigured', message: 'graph2kafka is not configured; see the function logs' } },
          { 'Retry-After': '60' },
        ),
      );
    }
    const headers = Object.fromEntries(request.headers.entries());
    const declared = Number(headers['content-length'] ?? 0);
    // Refuse an oversized body before reading it into memory; core enforces the same cap on what it is given.
    const body = declared > app.config.maxBodyBytes ? Buffer.alloc(0) : Buffer.from(await request.arrayBuffer());
    const coreRequest = {
      method: request.method,
      query: request.query,
      headers,
      body: body.length ? body : undefined,
      receivedAt,
    };
    const answer =
      kind === 'notifications'
        ? await app.receiver.handleNotifications(coreRequest)
        : await app.receiver.handleLifecycle(coreRequest);
    return toInit(answer);
  };
}
