import type { GraphClient, GraphResponse } from './graph-client.ts';
import { retryAfterMs } from './graph-client.ts';

/** Answers Graph asks to be tried again (with Retry-After when it says how long). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

const LONGEST_CALL_MS = 30_000;
const SHORTEST_CALL_MS = 1_000;
const LONGEST_BACKOFF_MS = 10_000;

export interface GraphReadOptions {
  /** Ms since epoch; no wait before a retry runs past it (Infinity: none). */
  deadline: number;
  /** Tries in all, the first included. */
  maxAttempts: number;
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Waits for a slot (a pacer under Graph's quotas); returns what to call once the call is answered. */
  gate?: () => Promise<() => void>;
  /** Told of every try, before it is sent. */
  onAttempt?: () => void;
  /** Told of a 429 and the wait it asked for (a pacer holds the tenant's next calls that long). */
  onThrottled?: (waitMs: number) => void;
  /** Calls that fail without an answer are tried again too (else they throw at once). */
  retryErrors?: boolean;
}

/** The wait before try `attempt + 1` when Graph did not say: doubling from a second, at most ten. */
const backoffMs = (attempt: number): number => Math.min(500 * 2 ** attempt, LONGEST_BACKOFF_MS);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One Graph call, tried again on 429 and 5xx after Retry-After (or a backoff) while attempts are left and the
 * wait ends before the deadline. The last answer is returned whatever it is: the caller judges its status.
 */
export async function graphRequest(
  graph: GraphClient,
  tenantId: string,
  path: string,
  opts: GraphReadOptions,
): Promise<GraphResponse> {
  for (let attempt = 1; ; attempt++) {
    const answered = opts.gate ? await opts.gate() : undefined;
    opts.onAttempt?.();
    let res: GraphResponse;
    try {
      res = await graph.call(tenantId, opts.method ?? 'GET', path, {
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        headers: opts.headers ?? {},
        timeoutMs: Math.min(LONGEST_CALL_MS, Math.max(SHORTEST_CALL_MS, opts.deadline - Date.now())),
      });
    } catch (err) {
      const wait = backoffMs(attempt);
      if (!opts.retryErrors || attempt >= opts.maxAttempts || Date.now() + wait > opts.deadline) throw err;
      await sleep(wait);
      continue;
    } finally {
      answered?.();
    }
    if (!RETRYABLE_STATUSES.has(res.status) || attempt >= opts.maxAttempts) return res;
    const wait = retryAfterMs(res.headers['retry-after']) ?? backoffMs(attempt);
    // Waiting past the deadline would only make the caller wait for an answer it can no longer use.
    if (Date.now() + wait > opts.deadline) return res;
    if (res.status === 429) opts.onThrottled?.(wait);
    await sleep(wait);
  }
}

/**
 * A collection read page by page through `@odata.nextLink`, each page with graphRequest's retries. A page that
 * is not a 200 is yielded and ends the reading; the caller judges it.
 */
export async function* graphPages(
  graph: GraphClient,
  tenantId: string,
  first: string,
  opts: GraphReadOptions,
): AsyncGenerator<GraphResponse> {
  for (let next: string | undefined = first; next;) {
    const res = await graphRequest(graph, tenantId, next, opts);
    yield res;
    if (res.status !== 200) return;
    const link = (res.body as { '@odata.nextLink'?: unknown } | undefined)?.['@odata.nextLink'];
    next = typeof link === 'string' ? link : undefined;
  }
}
