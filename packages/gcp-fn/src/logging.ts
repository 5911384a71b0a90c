import { jsonLogger, RequestLogs, type Logger } from '@graph2kafka/core/http';

/** Every log line of the app goes through this, to the request it belongs to (see RequestLogs). */
export const requestLogs = new RequestLogs(jsonLogger);

/** The trace of a request, from W3C `traceparent` or Google's `X-Cloud-Trace-Context` (`TRACE/SPAN;o=1`). */
export function traceOf(headers: Record<string, string | undefined>): { traceId: string; spanId?: string } | undefined {
  const w3c = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(headers.traceparent?.trim() ?? '');
  if (w3c) return { traceId: w3c[1]!, spanId: w3c[2]! };
  const cloud = /^([0-9a-f]{32})(?:\/(\d{1,20}))?/i.exec(headers['x-cloud-trace-context']?.trim() ?? '');
  if (cloud) return { traceId: cloud[1]!.toLowerCase(), ...(cloud[2] ? { spanId: cloud[2] } : {}) };
  return undefined;
}

/**
 * Cloud Logging's structured form: one JSON line with `severity`, and the request's trace in the fields Cloud
 * Logging joins with Cloud Trace and the request log (`logging.googleapis.com/trace` needs the project id).
 */
export function gcpRequestLogger(headers: Record<string, string | undefined>, project: string | undefined): Logger {
  const trace = traceOf(headers);
  if (!trace || !project) return jsonLogger;
  const correlation: Record<string, unknown> = {
    'logging.googleapis.com/trace': `projects/${project}/traces/${trace.traceId}`,
    ...(trace.spanId ? { 'logging.googleapis.com/spanId': trace.spanId } : {}),
  };
  return {
    info: (m, f) => jsonLogger.info(m, { ...f, ...correlation }),
    warn: (m, f) => jsonLogger.warn(m, { ...f, ...correlation }),
    error: (m, f) => jsonLogger.error(m, { ...f, ...correlation }),
  };
}

/** The project trace ids belong to: set by the deploy (G2K_GCP_PROJECT), or the runtime's own variables. */
export function projectOf(env: Record<string, string | undefined>): string | undefined {
  return env.G2K_GCP_PROJECT?.trim() || env.GOOGLE_CLOUD_PROJECT?.trim() || env.GCLOUD_PROJECT?.trim() || undefined;
}
