/** One or more settings are missing or wrong; `problems` says which and how to fix each. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`graph2kafka is not configured correctly:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A secret reference could not be resolved. */
export class SecretError extends Error {
  readonly reference: string;

  constructor(reference: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SecretError';
    this.reference = reference;
  }
}

/** Graph could not be reached or answered with an error the caller must act on. */
export class GraphRequestError extends Error {
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, status?: number, code?: string, retryAfterMs?: number) {
    super(message);
    this.name = 'GraphRequestError';
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/** No app-only token could be obtained (login endpoint down, wrong secret, revoked consent). */
export class TokenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenError';
  }
}

/**
 * Kafka did not acknowledge in time or refused the records. `permanent`: the broker refused these records
 * themselves (too large, invalid), so sending them again can never succeed; otherwise a retry can.
 */
export class ProduceError extends Error {
  readonly permanent: boolean;

  constructor(message: string, options?: { cause?: unknown; permanent?: boolean }) {
    super(message, options);
    this.name = 'ProduceError';
    this.permanent = options?.permanent ?? false;
  }
}

/** The message of anything thrown: code throws more than Errors (kafkajs, undici and user code alike). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** No credential for Kafka's OAUTHBEARER: the message says which identity and what it lacks. */
export class KafkaAuthError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaAuthError';
  }
}

/** No credential of an operator's Azure chain could sign in; the message says what to do. */
export class AzureCredentialError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AzureCredentialError';
  }
}
