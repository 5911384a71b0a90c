import { ProduceError } from '../errors.ts';

/**
 * Broker error types that condemn the records themselves: no retry of the same bytes can succeed. Everything
 * else (leaders moving, timeouts, authorization, an unknown topic) may heal, so a retry stays the answer.
 */
const PERMANENT = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

/** kafkajs wraps the broker's error in retry errors; the type is on the innermost. */
function kafkaType(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    e = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return undefined;
}

/** Any failure of a send, as a ProduceError that says whether a retry can fix it. */
export function asProduceError(err: unknown): ProduceError {
  if (err instanceof ProduceError) return err;
  const type = kafkaType(err);
  const message = err instanceof Error ? err.message : String(err);
  return new ProduceError(`Kafka produce failed: ${message}${type ? ` (${type})` : ''}`, {
    cause: err,
    permanent: type !== undefined && PERMANENT.has(type),
  });
}
