import { ProduceError } from '../errors.ts';

/**
 * Broker error types that condemn the records themselves: no retry of the same bytes can succeed. Everything
 * else (leaders moving, timeouts, authorization, an unknown topic) may heal, so a retry stays the answer.
 */
const PERMANENT = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

/**
 * The broker's error type: kafkajs puts it on `type` of the innermost of its retry errors; @platformatic/kafka
 * on `apiId` of a protocol error inside its multiple-errors wrappers. Searched breadth-first, a few levels deep.
 */
function kafkaType(err: unknown): string | undefined {
  let level: unknown[] = [err];
  for (let depth = 0; depth < 5 && level.length; depth++) {
    const next: unknown[] = [];
    for (const e of level) {
      if (!e || typeof e !== 'object') continue;
      const { type, apiId, cause, originalError, errors } = e as Record<string, unknown>;
      if (typeof type === 'string') return type;
      if (typeof apiId === 'string') return apiId;
      next.push(cause, originalError, ...(Array.isArray(errors) ? (errors as unknown[]) : []));
    }
    level = next;
  }
  return undefined;
}

/**
 * What went wrong at the bottom: @platformatic/kafka reports "initProducerId failed 3 times." and keeps the
 * reason (a refused SASL password, a refused connection) in the errors it wraps; the operator needs that one.
 */
function rootMessage(err: unknown): string | undefined {
  let found: string | undefined;
  const visit = (e: unknown, depth: number): void => {
    if (!e || typeof e !== 'object' || depth > 5) return;
    const { message, cause, errors } = e as { message?: unknown; cause?: unknown; errors?: unknown };
    const inner = [cause, ...(Array.isArray(errors) ? (errors as unknown[]) : [])].filter(Boolean);
    if (!inner.length) {
      if (typeof message === 'string' && message && found === undefined) found = message;
      return;
    }
    for (const i of inner) visit(i, depth + 1);
  };
  visit(err, 0);
  return found;
}

/** Any failure of a send, as a ProduceError that says whether a retry can fix it. */
export function asProduceError(err: unknown): ProduceError {
  if (err instanceof ProduceError) return err;
  const type = kafkaType(err);
  const top = err instanceof Error ? err.message : String(err);
  const root = rootMessage(err);
  const message = root && root !== top && !top.includes(root) ? `${top} (${root})` : top;
  return new ProduceError(`Kafka produce failed: ${message}${type ? ` (${type})` : ''}`, {
    cause: err,
    permanent: type !== undefined && PERMANENT.has(type),
  });
}
