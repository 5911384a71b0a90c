import { GraphError } from './errors.ts';
import { deadlineSignal } from './deadline.ts';
import { guid } from './ids.ts';

export interface HandshakeResult {
  url: string;
  token: string;
  status?: number;
  durationMs: number;
  error?: string;
}

/** Graph's token text; opaque to clients, and containing characters that need decoding (':' and spaces). */
export const makeValidationToken = (): string =>
  `Validation: Testing client application reachability for subscription Request-Id: ${guid()}`;

/** Form-encoding as Graph's captured requests show it: `%3a` for ':' and `+` for spaces. */
export const encodeValidationToken = (token: string): string =>
  encodeURIComponent(token)
    .replace(/%20/g, '+')
    .replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

const failed = (detail: string): GraphError =>
  new GraphError(400, 'ValidationError', `Subscription validation request failed. ${detail}`);

/**
 * Graph's endpoint validation: POST `url?validationToken=…` with an empty text/plain body; the endpoint must
 * answer 200, text/plain, with exactly the decoded token, within the timeout. Throws Graph's 400 otherwise.
 */
export async function validateEndpoint(
  url: string,
  timeoutMs: number,
  report: (r: HandshakeResult) => void,
): Promise<void> {
  const token = makeValidationToken();
  const target = `${url}${url.includes('?') ? '&' : '?'}validationToken=${encodeValidationToken(token)}`;
  const started = performance.now();
  const result: HandshakeResult = { url, token, durationMs: 0 };
  const deadline = deadlineSignal(timeoutMs);
  try {
    const res = await fetch(target, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain; charset=utf-8', Accept: 'text/plain' },
      body: '',
      signal: deadline.signal,
      redirect: 'manual',
    });
    const text = await res.text();
    result.status = res.status;
    if (res.status !== 200) throw failed('Notification endpoint must respond with 200 OK to validation request.');
    if (!(res.headers.get('content-type') ?? '').toLowerCase().startsWith('text/plain')) {
      throw failed('Response must have Content-Type text/plain.');
    }
    if (text !== token) throw failed('Response must exactly match validationToken query parameter.');
  } catch (err) {
    if (err instanceof GraphError) {
      result.error = err.message;
      throw err;
    }
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      result.error = 'timeout';
      throw new GraphError(400, 'ValidationError', 'Subscription validation request timed out.');
    }
    result.error = e.cause?.code ?? e.cause?.message ?? e.message;
    throw failed(`HTTP request failed with exception: ${result.error}`);
  } finally {
    deadline.clear();
    result.durationMs = performance.now() - started;
    report(result);
  }
}
