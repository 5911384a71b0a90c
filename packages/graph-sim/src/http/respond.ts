import type { LoginError, SimUsageError } from '../errors.ts';
import { GraphError } from '../errors.ts';
import type { SimResponse } from '../types.ts';

export const GRAPH_JSON =
  'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8';

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): SimResponse => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
  body,
});

export const graphJson = (status: number, body: unknown, headers: Record<string, string> = {}): SimResponse => ({
  status,
  headers: { 'Content-Type': GRAPH_JSON, ...headers },
  body,
});

export const noContent = (): SimResponse => ({ status: 204 });

/** Graph's error body, with the innerError fields real Graph adds. */
export function graphErrorResponse(
  err: GraphError,
  requestId: string,
  clientRequestId: string | undefined,
  nowIso: string,
): SimResponse {
  return graphJson(
    err.status,
    {
      error: {
        code: err.code,
        message: err.message,
        innerError: {
          date: nowIso.replace(/\.\d+Z$/, ''),
          'request-id': requestId,
          'client-request-id': clientRequestId ?? requestId,
        },
      },
    },
    err.headers,
  );
}

export function loginErrorResponse(err: LoginError, traceId: string, nowIso: string): SimResponse {
  return json(
    err.status,
    {
      error: err.error,
      error_description: `AADSTS${err.aadstsCode}: ${err.message} Trace ID: ${traceId} Correlation ID: ${traceId} Timestamp: ${nowIso}`,
      error_codes: [err.aadstsCode],
      timestamp: nowIso,
      trace_id: traceId,
      correlation_id: traceId,
    },
    err.headers,
  );
}

export const usageErrorResponse = (err: SimUsageError): SimResponse =>
  json(err.status, { error: { code: 'SimUsageError', message: err.message } });

/** Parses a JSON request body, answering Graph's 400 for anything that is not a JSON object. */
export function parseJsonObject(body: string, what = 'request body'): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new GraphError(400, 'BadRequest', `Unable to read JSON ${what}.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GraphError(400, 'BadRequest', `The ${what} must be a JSON object.`);
  }
  return parsed as Record<string, unknown>;
}
