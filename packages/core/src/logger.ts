import { AsyncLocalStorage } from 'node:async_hooks';

/** Structured logging; adapters map it to the platform's logger. Never pass secrets in `fields`. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One JSON line per entry on stdout/stderr: what Cloud Logging and Application Insights ingest best. */
export const jsonLogger: Logger = {
  info: (message, fields) => console.log(JSON.stringify({ severity: 'INFO', message, ...fields })),
  warn: (message, fields) => console.warn(JSON.stringify({ severity: 'WARNING', message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ severity: 'ERROR', message, ...fields })),
};

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Routes the app's log lines to the logger of the request being handled (its trace, its invocation), so every
 * line a POST causes lands beside it in the platform's log view; outside a request, or once the request has
 * been answered (work it started in the background), lines go to `fallback`.
 */
export class RequestLogs {
  private readonly current = new AsyncLocalStorage<{ logger: Logger; open: boolean }>();
  private readonly fallback: Logger;
  /** The logger to build the app with. */
  readonly logger: Logger;

  constructor(fallback: Logger) {
    this.fallback = fallback;
    const pick = (): Logger => {
      const scope = this.current.getStore();
      return scope?.open ? scope.logger : this.fallback;
    };
    this.logger = {
      info: (m, f) => pick().info(m, f),
      warn: (m, f) => pick().warn(m, f),
      error: (m, f) => pick().error(m, f),
    };
  }

  /** Runs one request's handling with `logger` as the destination until the returned promise settles. */
  async run<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
    const scope = { logger, open: true };
    try {
      return await this.current.run(scope, work);
    } finally {
      scope.open = false;
    }
  }
}
