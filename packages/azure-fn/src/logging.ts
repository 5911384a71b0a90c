import type { InvocationContext } from '@azure/functions';
import { jsonLogger, RequestLogs, type Logger } from '@graph2kafka/core/http';

/** Every log line of the app goes through this, to the invocation it belongs to (see RequestLogs). */
export const requestLogs = new RequestLogs(jsonLogger);

/**
 * The invocation's own log: the Functions host gives each line the level of the method called and the
 * invocation id, so Application Insights shows it with the right severity beside the request.
 */
export function contextLogger(context: InvocationContext): Logger {
  return {
    info: (m, f) => (f ? context.log(m, f) : context.log(m)),
    warn: (m, f) => (f ? context.warn(m, f) : context.warn(m)),
    error: (m, f) => (f ? context.error(m, f) : context.error(m)),
  };
}
