import { GraphError, SimUsageError } from './errors.ts';
import { type FaultOptions, validateFaults } from './options.ts';
import type { SeededRandom } from './random.ts';

/**
 * A scripted fault: the next `count` Graph requests whose method and path match get `status`. Used where a
 * test needs a fault at an exact place (one `$batch` item throttled while its siblings succeed).
 */
export interface FaultRule {
  id: number;
  method?: string;
  /** Substring of the request path (for `$batch` items, the item's URL path). */
  pathContains?: string;
  status: number;
  retryAfterSeconds?: number;
  count: number;
}

export type FaultRuleInput = Omit<FaultRule, 'id' | 'count'> & { count?: number };

const ERROR_CODES: Record<number, [string, string]> = {
  429: ['ApplicationThrottled', 'Application is over its MailboxConcurrency limit.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
  502: ['BadGateway', 'The server received an invalid response from an upstream server.'],
  503: ['ServiceUnavailable', 'The service is temporarily unavailable. Retry after the interval in Retry-After.'],
  504: ['GatewayTimeout', 'The upstream server did not respond in time.'],
};

/** A copy that shares no nested object with `faults`, so a caller cannot change the settings behind our back. */
const copy = (faults: FaultOptions): FaultOptions => ({
  ...faults,
  calendarEditNotifications: { ...faults.calendarEditNotifications },
});

export class Faults {
  private config: FaultOptions;
  private rules: FaultRule[] = [];
  private nextRuleId = 1;

  private readonly random: SeededRandom;

  constructor(initial: FaultOptions, random: SeededRandom) {
    this.random = random;
    this.config = copy(initial);
  }

  get current(): FaultOptions {
    return copy(this.config);
  }

  update(patch: Partial<FaultOptions>): FaultOptions {
    const next = { ...this.config, ...patch };
    validateFaults(next);
    this.config = copy(next);
    return this.current;
  }

  addRule(input: FaultRuleInput): FaultRule {
    if (!Number.isInteger(input.status) || input.status < 400 || input.status > 599) {
      throw new SimUsageError(
        `a fault rule's status must be an HTTP error status 400..599, got ${String(input.status)}`,
      );
    }
    const count = input.count ?? 1;
    if (!Number.isInteger(count) || count < 1)
      throw new SimUsageError(`a fault rule's count must be >= 1, got ${count}`);
    const rule: FaultRule = { ...input, id: this.nextRuleId++, count };
    this.rules.push(rule);
    return rule;
  }

  listRules(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  reset(defaults: FaultOptions): void {
    this.config = copy(defaults);
    this.rules = [];
  }

  latencyMs(): number {
    const { latencyMs, latencyJitterMs } = this.config;
    return latencyMs + (latencyJitterMs ? this.random.next() * latencyJitterMs : 0);
  }

  serviceTimeMs(): number {
    return this.config.mailboxServiceTimeMs;
  }

  /** The Retry-After header of a token outage answer, if any. */
  tokenOutageHeaders(): Record<string, string> {
    const seconds = this.config.tokenOutageRetryAfterSeconds;
    return seconds > 0 ? { 'Retry-After': String(Math.ceil(seconds)) } : {};
  }

  tokenOutage(): boolean {
    return this.config.tokenOutage;
  }

  dropDelivery(): boolean {
    return this.random.chance(this.config.deliveryDropRate);
  }

  // The delivery faults below draw from the seeded random only while they are on (`chance(0)` draws nothing),
  // so with them off a seed gives the same run as before they existed.

  silentDrop(): boolean {
    return this.random.chance(this.config.silentDropRate);
  }

  /** Simulated ms until a delivered POST's duplicate, or undefined when this one is not duplicated. */
  duplicateAfterMs(): number | undefined {
    return this.random.chance(this.config.duplicateDeliveryRate) ? this.config.duplicateDelayMs : undefined;
  }

  /** Simulated ms a new POST waits before its first attempt (0: it goes now). */
  holdBackMs(): number {
    return this.random.chance(this.config.delayDeliveryRate) ? this.config.delayDeliveryMs : 0;
  }

  /** How many `updated` notifications this event update sends (min..max; no draw when they are equal). */
  calendarEditNotifications(): number {
    const { min, max } = this.config.calendarEditNotifications;
    return min === max ? min : min + Math.floor(this.random.next() * (max - min + 1));
  }

  /** Whether an extra notification of one edit waits for the next POST instead of joining the first one's. */
  editExtraInNextPost(): boolean {
    return this.random.chance(0.5);
  }

  /** A scripted rule wins; otherwise the configured rates decide. Returns the error to answer, if any. */
  forResourceRead(method: string, path: string): GraphError | undefined {
    const scripted = this.fromRules(method, path);
    if (scripted) return scripted;
    if (this.random.chance(this.config.throttleRate)) return this.errorFor(429);
    if (this.random.chance(this.config.unavailableRate)) return this.errorFor(503);
    return undefined;
  }

  forBatch(method: string, path: string): GraphError | undefined {
    const scripted = this.fromRules(method, path);
    if (scripted) return scripted;
    if (this.random.chance(this.config.batchThrottleRate)) return this.errorFor(429);
    return undefined;
  }

  private fromRules(method: string, rawPath: string): GraphError | undefined {
    // Rules name ids as they are; request paths carry them percent-encoded ('=' as %3D).
    let path = rawPath;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      // A malformed escape: match against the raw path.
    }
    const i = this.rules.findIndex(
      (r) =>
        (!r.method || r.method.toUpperCase() === method.toUpperCase()) &&
        (!r.pathContains || path.toLowerCase().includes(r.pathContains.toLowerCase())),
    );
    if (i < 0) return undefined;
    const rule = this.rules[i]!;
    rule.count--;
    if (rule.count <= 0) this.rules.splice(i, 1);
    return this.errorFor(rule.status, rule.retryAfterSeconds);
  }

  private errorFor(status: number, retryAfterSeconds = this.config.retryAfterSeconds): GraphError {
    const [code, message] = ERROR_CODES[status] ?? ['InjectedFault', `graph-sim injected a ${status} answer.`];
    const headers: Record<string, string> =
      status === 429 || status === 503 ? { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) } : {};
    return new GraphError(status, code, message, headers);
  }
}
