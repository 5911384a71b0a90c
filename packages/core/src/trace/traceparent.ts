import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/**
 * W3C Trace Context for the records a unit of work produces: each POST and each timer or background task gets
 * one `traceparent`, a child of the caller's when the request carried one, so a record links to the function
 * invocation that wrote it. graph2kafka records no spans itself: its own ids are marked not sampled unless the
 * caller's were.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

const current = new AsyncLocalStorage<string>();

const spanId = (): string => {
  for (;;) {
    const id = randomBytes(8).toString('hex');
    if (id !== ZERO_SPAN) return id;
  }
};

/**
 * A traceparent for work that `incoming` (a request's header) started: the same trace with a span id of our
 * own; a fresh trace when there is no valid incoming one (version `ff`, all-zero ids and other forms are
 * ignored, as the spec says a receiver must).
 */
export function childTraceparent(incoming?: string): string {
  const m = TRACEPARENT.exec(incoming?.trim().toLowerCase() ?? '');
  const valid = m && m[1] !== 'ff' && m[2] !== ZERO_TRACE && m[3] !== ZERO_SPAN && (m[1] !== '00' || !m[5]);
  if (valid) return `00-${m[2]}-${spanId()}-${m[4]}`;
  let trace: string;
  do trace = randomBytes(16).toString('hex');
  while (trace === ZERO_TRACE);
  return `00-${trace}-${spanId()}-00`;
}

/** Runs `work` with its own traceparent (a child of `incoming` when that is one). */
export function runTraced<T>(incoming: string | undefined, work: () => Promise<T>): Promise<T> {
  return current.run(childTraceparent(incoming), work);
}

/** The traceparent of the work running now; outside any, a fresh one (the CLI, a test). */
export const currentTraceparent = (): string => current.getStore() ?? childTraceparent();
