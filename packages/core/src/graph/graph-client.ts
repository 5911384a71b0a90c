import { Agent, request, type Dispatcher } from 'undici';
import type { GraphSettings } from '../config/config.ts';
import { GraphRequestError, TokenError } from '../errors.ts';
import type { TokenSource } from './token-provider.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { withTimeout } from '../timeout.ts';

export interface BatchItemRequest {
  id: string;
  method: 'GET';
  url: string;
  headers?: Record<string, string>;
}

export interface BatchItemResponse {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface GraphResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** Retry-After in seconds (Graph's form) or an HTTP date, as milliseconds. */
export function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The login endpoint may hang or retry for long; a request with a deadline must not wait past it. */
/** Graph over HTTPS with keep-alive connections; trusts the configured extra CA (graph-sim) when set. */
export class GraphClient {
  private readonly settings: GraphSettings;
  private readonly tokens: TokenSource;
  private readonly dispatcher: Dispatcher;
  private readonly metrics: Metrics | undefined;

  constructor(settings: GraphSettings, tokens: TokenSource, metrics?: Metrics) {
    this.settings = settings;
    this.tokens = tokens;
    this.metrics = metrics;
    this.dispatcher = new Agent({
      connections: 64,
      keepAliveTimeout: 30_000,
      ...(settings.caPem ? { connect: { ca: settings.caPem } } : {}),
    });
  }

  get baseUrl(): string {
    return this.settings.baseUrl;
  }

  /** One Graph call; a 401 gets one retry with a fresh token. Errors other than HTTP answers throw. */
  async call(
    tenantId: string,
    method: string,
    path: string,
    opts: {
      body?: unknown;
      headers?: Record<string, string>;
      timeoutMs: number;
      /** Called once the token is there and the request leaves (the wait before it is the token's). */
      onToken?: () => void;
    },
  ): Promise<GraphResponse> {
    const url = this.resolve(path);
    for (let attempt = 0; ; attempt++) {
      const token = await withTimeout(
        this.tokens.token(tenantId),
        opts.timeoutMs,
        () => new TokenError(`no token for tenant ${tenantId} within ${opts.timeoutMs} ms`),
      );
      opts.onToken?.();
      // A plain timer rather than AbortSignal.timeout(): an unreferenced timeout signal can be collected
      // before it fires, and the call then never ends. It covers the answer's body too.
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new DOMException('timed out', 'TimeoutError')),
        Math.max(1, opts.timeoutMs),
      );
      let res;
      let text: string;
      try {
        res = await request(url, {
          method: method,
          dispatcher: this.dispatcher,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: 'application/json',
            ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
            ...opts.headers,
          },
          body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
          signal: controller.signal,
        });
        text = await res.body.text();
      } catch (err) {
        this.metrics?.graphAnswer('error', false);
        const e = err as Error & { code?: string };
        throw new GraphRequestError(
          `Graph ${method} ${path} failed: ${e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timed out' : (e.code ?? e.message)}`,
        );
      } finally {
        clearTimeout(timer);
      }
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      this.metrics?.graphAnswer(
        res.statusCode,
        res.statusCode === 429 || (res.statusCode === 503 && res.headers['retry-after'] !== undefined),
      );
      if (res.statusCode === 401 && attempt === 0) {
        this.tokens.invalidate(tenantId);
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body };
    }
  }

  /**
   * A path under the base URL, or a link Graph returned (nextLink, deltaLink). A link is followed only on the
   * base URL's origin: the app's token must never be sent wherever a response (or a stored link) points.
   */
  private resolve(path: string): string {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(path)) return `${this.settings.baseUrl}${path}`;
    let origin: string | undefined;
    try {
      origin = new URL(path).origin;
    } catch {
      origin = undefined;
    }
    if (origin !== new URL(this.settings.baseUrl).origin)
      throw new GraphRequestError(
        `refusing to follow a link outside GRAPH_BASE_URL's origin (${new URL(this.settings.baseUrl).origin}): ${path.slice(0, 120)}`,
      );
    return path;
  }

  /** POST /$batch; per-item answers come back as they are (any order). Whole-request failures throw. */
  async batch(
    tenantId: string,
    requests: BatchItemRequest[],
    timeoutMs: number,
    onToken?: () => void,
  ): Promise<BatchItemResponse[]> {
    const res = await this.call(tenantId, 'POST', '/$batch', {
      body: { requests },
      timeoutMs,
      ...(onToken ? { onToken } : {}),
    });
    if (res.status !== 200) {
      const error = (res.body as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new GraphRequestError(
        `Graph $batch answered ${res.status}${error?.code ? ` ${error.code}` : ''}`,
        res.status,
        error?.code,
        retryAfterMs(res.headers['retry-after']),
      );
    }
    const responses = (res.body as { responses?: BatchItemResponse[] } | undefined)?.responses;
    if (!Array.isArray(responses))
      throw new GraphRequestError('Graph $batch answered 200 without a responses array', 200);
    return responses;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
