import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import {
  graphWebhook,
  instanceAdmission,
  jsonLogger,
  maxBodyBytesFromEnv,
  overloaded,
  readLimited,
  type MemoryAdmission,
} from '@graph2kafka/core/http';
import type { AppProvider } from './app-loader.ts';
import { contextLogger, requestLogs } from './logging.ts';

/**
 * An `@azure/functions` v4 HTTP handler for both Graph URLs: request → core's webhook → response. The POST's
 * share of the instance's memory budget is reserved before its body is read (a POST that does not fit gets a
 * 503 at once); the body is read from the stream and given up past the size limit, so a body without
 * Content-Length cannot grow the instance. No Graph or Kafka rule lives here.
 */
export function httpHandler(
  getApp: AppProvider,
  admission: MemoryAdmission = instanceAdmission(process.env, maxBodyBytesFromEnv(process.env)),
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  const webhook = graphWebhook(getApp, jsonLogger);
  return async (request, context) => {
    const receivedAt = Date.now();
    const declared = request.headers.get('content-length');
    const admitted = admission.admit(declared === null ? undefined : Number(declared));
    if (!admitted) return overloaded();
    try {
      // Every line the POST causes goes to the invocation's log, where the portal shows it beside the call.
      const logger = contextLogger(context);
      const answer = await requestLogs.run(logger, () =>
        webhook(
          {
            method: request.method,
            query: request.query,
            headers: Object.fromEntries(request.headers.entries()),
            readBody: (limit) => readLimited(request.body as AsyncIterable<Uint8Array> | null, limit),
            receivedAt,
          },
          logger,
        ),
      );
      return { status: answer.status, headers: answer.headers, body: answer.body };
    } finally {
      admitted.release();
    }
  };
}
