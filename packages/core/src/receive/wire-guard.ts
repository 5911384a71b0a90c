import type { IncomingMessage, ServerResponse } from 'node:http';

/** G2K_MAX_BODY_BYTES's default; config.ts checks the setting itself and reports a bad value. */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/** The body limit as the guard sees it, before any configuration is loaded (a bad value: the default). */
export function maxBodyBytesFromEnv(env: Record<string, string | undefined>): number {
  const n = Number(env.G2K_MAX_BODY_BYTES?.trim());
  return Number.isInteger(n) && n >= 1_024 && n <= 33_554_432 ? n : DEFAULT_MAX_BODY_BYTES;
}

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' });
  res.end(JSON.stringify({ error: { code, message } }));
}

/** How long a refused client may go on sending (discarded, unparsed) so that it can read the answer. */
const DRAIN_MS = 1_000;

/**
 * Closes a refused request's connection. Cutting it at once would reset the socket while the client is still
 * sending, and the client would see a connection error instead of the 413; so what it still sends is discarded
 * (never buffered or parsed) for a moment, then the connection is cut.
 */
function closeSoon(req: IncomingMessage): void {
  const cut = setTimeout(() => req.destroy(), DRAIN_MS);
  cut.unref();
  req.once('end', () => clearTimeout(cut));
  req.once('close', () => clearTimeout(cut));
  req.resume();
}

/**
 * Enforces the body rules on the wire, for servers whose framework reads and parses every body before our
 * handler runs (functions-framework: up to 1 GB, gunzipped). Refuses compressed bodies and declared lengths
 * over the limit before a byte is read, and cuts off a body without Content-Length once it passes the limit
 * (counting the bytes as the framework's reader receives them). Returns true when it answered the request.
 * The webhook applies the same rules again to what it is handed.
 */
export function guardWire(req: IncomingMessage, res: ServerResponse, limit: number): boolean {
  if (req.method !== 'POST') return false;
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    refuse(res, 415, 'UnsupportedMediaType', `Content-Encoding '${encoding}' is not accepted; send plain JSON`);
    req.resume();
    return true;
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    if (Number(declared) > limit) {
      refuse(res, 413, 'PayloadTooLarge', `bodies over ${limit} bytes are refused`);
      closeSoon(req);
      return true;
    }
    return false;
  }
  let received = 0;
  const emit = req.emit.bind(req);
  // Whoever reads the body (raw-body, a stream pipe) is fed through 'data' events: count them there.
  req.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'data') {
      received += (args[0] as Buffer).length;
      if (received > limit) {
        refuse(res, 413, 'PayloadTooLarge', `bodies over ${limit} bytes are refused`);
        req.destroy();
        return false;
      }
    }
    return emit(event, ...args);
  }) as typeof req.emit;
  return false;
}
