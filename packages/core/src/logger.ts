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
