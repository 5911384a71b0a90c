import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CoreResponse } from '../model/http.ts';
import { overloaded, type MemoryAdmission } from './memory-admission.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../config/receive-config.ts';

/** The body limit as the guard sees it, before any configuration is loaded (a bad value: the default). */
export function maxBodyBytesFromEnv(env: Record<string, string | undefined>): number {
  const n = Number(env.G2K_MAX_BODY_BYTES?.trim());
  return Number.isInteger(n) && n >= 1_024 && n <= 33_554_432 ? n : DEFAULT_MAX_BODY_BYTES;
}

function send(res: ServerResponse, answer: CoreResponse): void {
  if (res.headersSent) return;
  res.writeHead(answer.status, { ...answer.headers, Connection: 'close' });
  res.end(answer.body);
}

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  send(res, {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ error: { code, message } }),
  });
}

/** How long a refused client may go on sending (discarded, unparsed) so that it can read the answer. */
const DRAIN_MS = 1_000;

/**
 * Closes a refused request's connection. Cutting it at once would reset the socket while the client is still
 * sending, and the client would see a connection error instead of the answer; so what it still sends is
 * discarded (never buffered or parsed) for a moment, then the connection is cut.
 */
function closeSoon(req: IncomingMessage): void {
  const cut = setTimeout(() => req.destroy(), DRAIN_MS);
  cut.unref();
  req.once('end', () => clearTimeout(cut));
  req.once('close', () => clearTimeout(cut));
  req.resume();
}

export interface WireRules {
  /** G2K_MAX_BODY_BYTES. */
  limit: number;
  /** The instance's budget for bodies in flight. */
  admission: MemoryAdmission;
}

/**
 * Enforces the body rules on the wire, for servers whose framework reads and parses every body before our
 * handler runs (functions-framework: up to 1 GB, gunzipped, then JSON.parse). Refuses compressed bodies and
 * declared lengths over the limit before a byte is read; reserves the POST's share of the instance's memory
 * budget, or answers 503 at once; then reads the body itself, cutting it off once it passes the limit, and
 * hands it to `next` whole. A request whose body is read (`complete`) is one the framework's body parsers skip,
 * so the body is parsed once, by the webhook, which applies the same rules again to what it is handed. The
 * share is held until the answer is sent or the connection is gone.
 */
export function guardWire(
  req: IncomingMessage,
  res: ServerResponse,
  rules: WireRules,
  next: (body: Buffer | undefined) => void,
): void {
  if (req.method !== 'POST') return next(undefined);
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    refuse(res, 415, 'UnsupportedMediaType', `Content-Encoding '${encoding}' is not accepted; send plain JSON`);
    req.resume();
    return;
  }
  const tooLarge = `bodies over ${rules.limit} bytes are refused`;
  const header = req.headers['content-length'];
  const declared = header === undefined ? undefined : Number(header);
  if (declared !== undefined && declared > rules.limit) {
    refuse(res, 413, 'PayloadTooLarge', tooLarge);
    closeSoon(req);
    return;
  }
  const admitted = rules.admission.admit(declared);
  if (!admitted) {
    send(res, overloaded());
    closeSoon(req);
    return;
  }
  res.once('close', () => admitted.release());
  const chunks: Buffer[] = [];
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > rules.limit) {
      chunks.length = 0;
      refuse(res, 413, 'PayloadTooLarge', tooLarge);
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.once('end', () => {
    if (!res.headersSent) next(received ? Buffer.concat(chunks, received) : undefined);
  });
}
