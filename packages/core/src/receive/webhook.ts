import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { NotificationReceiver } from './receiver.ts';
import { answerHandshake } from './handshake.ts';
import { jsonResponse, type CoreRequest, type CoreResponse } from '../model/http.ts';
import { runTraced } from '../trace/traceparent.ts';

/** What the webhook needs of the app; the app itself loads lazily, after the handshake had its chance. */
export interface WebhookApp {
  config: { maxBodyBytes: number };
  receiver: NotificationReceiver;
  /** Counts every answer given once the app is loaded (status, time since receipt). */
  metrics?: { answered(status: number, ms: number): void };
}

/**
 * The one HTTP entry for both of Graph's URLs (notification and lifecycle items are told apart by shape),
 * whatever the cloud: handshake first (no configuration needed, so a cold start answers it at once), then
 * method, encoding and size — all before the body is read — then the app, then the receiver. Adapters only
 * convert their platform's request and response.
 */
export function graphWebhook(
  getApp: () => Promise<WebhookApp>,
  defaultLogger: Logger,
): (req: CoreRequest, logger?: Logger) => Promise<CoreResponse> {
  return async (req, logger = defaultLogger) => {
    const handshake = answerHandshake(req.method, req.query);
    if (handshake) return handshake;
    if (req.method !== 'POST')
      return jsonResponse(
        405,
        { error: { code: 'MethodNotAllowed', message: 'Graph notifications are POSTs' } },
        { Allow: 'POST' },
      );
    const encoding = req.headers['content-encoding']?.trim().toLowerCase();
    // Graph sends plain JSON; a compressed body is not Graph's, and inflating it is how a small POST gets big.
    if (encoding && encoding !== 'identity')
      return jsonResponse(415, {
        error: {
          code: 'UnsupportedMediaType',
          message: `Content-Encoding '${encoding}' is not accepted; send plain JSON`,
        },
      });
    let app: WebhookApp;
    try {
      app = await getApp();
    } catch (err) {
      logger.error('graph2kafka cannot start', { problems: err instanceof ConfigError ? err.problems : [String(err)] });
      return jsonResponse(
        503,
        { error: { code: 'NotConfigured', message: 'graph2kafka is not configured; see the function logs' } },
        { 'Retry-After': '60' },
      );
    }
    // Every record this POST writes carries one traceparent: a child of Graph's (or the platform's) if it sent one.
    const answer = await runTraced(req.headers.traceparent, () => answerPost(app, req, logger));
    app.metrics?.answered(answer.status, Date.now() - req.receivedAt);
    return answer;
  };
}

/** A notification POST once the app is there: size, then the receiver; a fault of ours becomes a 503. */
async function answerPost(app: WebhookApp, req: CoreRequest, logger: Logger): Promise<CoreResponse> {
  const limit = app.config.maxBodyBytes;
  const tooLarge = (): CoreResponse => {
    app.receiver.counters.badRequests++;
    return jsonResponse(413, {
      error: { code: 'PayloadTooLarge', message: `bodies over ${limit} bytes are refused` },
    });
  };
  if (Number(req.headers['content-length'] ?? 0) > limit) return tooLarge();
  const body = await req.readBody(limit);
  if (body === 'too_large') return tooLarge();
  if (!body?.length) {
    app.receiver.counters.badRequests++;
    return jsonResponse(400, {
      error: {
        code: 'BadRequest',
        message: 'an empty POST without validationToken is neither a handshake nor a notification',
      },
    });
  }
  try {
    return await app.receiver.handle(body, req.receivedAt);
  } catch (err) {
    // A fault of ours (a store that throws, a bug) must not lose the POST: Graph redelivers a 503.
    logger.error('handling a notification POST failed', {
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return jsonResponse(
      503,
      { error: { code: 'RetryLater', message: 'graph2kafka could not process the POST; see the function logs' } },
      { 'Retry-After': '5' },
    );
  }
}
