/**
 * A Graph error answer. Every failing Graph route throws one of these, so clients always see Graph's shape:
 * `{"error":{"code","message","innerError"}}` with the right status (and Retry-After where Graph sends it).
 */
export class GraphError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'GraphError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** An answer of the login endpoint, shaped like Entra ID's OAuth errors. */
export class LoginError extends Error {
  readonly status: number;
  readonly error: string;
  readonly aadstsCode: number;
  readonly headers: Record<string, string>;

  constructor(status: number, error: string, aadstsCode: number, description: string, headers = {}) {
    super(description);
    this.name = 'LoginError';
    this.status = status;
    this.error = error;
    this.aadstsCode = aadstsCode;
    this.headers = headers;
  }
}

/** A control-API or option misuse by the test or developer driving the simulator. */
export class SimUsageError extends Error {
  readonly status: number;

  constructor(message: string, status = 400) {
    super(message);
    this.name = 'SimUsageError';
    this.status = status;
  }
}

export const throttled = (retryAfterSeconds: number, message: string): GraphError =>
  new GraphError(429, 'ApplicationThrottled', message, {
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  });

export const notFound = (message = 'The specified object was not found in the store.'): GraphError =>
  new GraphError(404, 'ErrorItemNotFound', message);

export const badRequest = (message: string, code = 'BadRequest'): GraphError => new GraphError(400, code, message);
