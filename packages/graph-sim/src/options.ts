import { SimUsageError } from './errors.ts';

export interface SeedUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
}

export interface SeedTenant {
  id: string;
  domain: string;
  users: SeedUser[];
}

export interface SeedApp {
  clientId: string;
  clientSecret: string;
  displayName: string;
  tenants: string[];
}

export interface FaultOptions {
  /** Real milliseconds added before every Graph answer (network and service time). */
  latencyMs: number;
  latencyJitterMs: number;
  /** Real milliseconds each mailbox operation holds one of the app's concurrent slots on that mailbox. */
  mailboxServiceTimeMs: number;
  /** Share of Graph resource reads (each `$batch` item counts) answered 429 with Retry-After. */
  throttleRate: number;
  /** Share of Graph resource reads answered 503 with Retry-After. */
  unavailableRate: number;
  /** Share of whole `$batch` requests answered 429. */
  batchThrottleRate: number;
  retryAfterSeconds: number;
  /** While true, the token endpoint answers 503 `temporarily_unavailable`. */
  tokenOutage: boolean;
  /**
   * Retry-After (seconds) on those 503s; 0 sends none. MSAL stops asking for that long after a 5xx — without
   * the header, for 60 s — so this sets how soon a client gets tokens again once the outage ends.
   */
  tokenOutageRetryAfterSeconds: number;
  /** Share of notifications dropped before delivery (recorded, and followed by a `missed` lifecycle event). */
  deliveryDropRate: number;
  /**
   * Share of change notifications dropped before delivery WITHOUT a `missed` lifecycle event (recorded as dropped,
   * reason `silentDrop`). Graph loses notifications this way in production (single ones daily, gaps of an hour
   * and more), so only a reconciliation (delta) finds them; set it to 1 for a while to make such a gap.
   */
  silentDropRate: number;
  /**
   * Share of change POSTs that, once answered 2xx, are POSTed again `duplicateDelayMs` later with the same
   * notifications (same ids): Graph delivers at least once, not exactly once.
   */
  duplicateDeliveryRate: number;
  /** Simulated ms between a POST's 2xx answer and its duplicate's first attempt. */
  duplicateDelayMs: number;
  /**
   * Share of change POSTs held back `delayDeliveryMs` before their first attempt, so POSTs made later overtake
   * them: Graph gives no ordering guarantee between POSTs.
   */
  delayDeliveryRate: number;
  /** Simulated ms a POST picked by `delayDeliveryRate` waits before its first attempt. */
  delayDeliveryMs: number;
  /**
   * How many `updated` notifications (each with its own id) one update of an event sends, drawn per update from
   * min..max (integers, 1..5). Graph sends 2–3 for one calendar edit; messages, contacts and created/deleted
   * stay at one.
   */
  calendarEditNotifications: { min: number; max: number };
}

export interface DeliveryOptions {
  maxNotificationsPerPost: number;
  /** Simulated ms that changes are gathered before a POST goes out, so several share one POST. */
  batchWindowMs: number;
  concurrencyPerUrl: number;
  /** Real ms: a first attempt must be answered 2xx within this (Graph: 3 s). */
  firstAttemptTimeoutMs: number;
  /** Real ms: the timeout of every retry (Graph: 10 s). */
  retryTimeoutMs: number;
  /** Simulated ms of the first retry delay; doubles per attempt up to `retryMaxDelayMs`. */
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Simulated ms after the first attempt when Graph gives up (4 h). */
  retryForMs: number;
  /** Endpoint health (slow/drop states) over a sliding window. */
  healthWindowMs: number;
  healthMinSamples: number;
  slowThreshold: number;
  dropThreshold: number;
  slowDelayMs: number;
  dropForMs: number;
}

export interface SubscriptionOptions {
  quotaPerMailbox: number;
  minExpirationMinutes: number;
  maxExpirationMinutes: number;
  maxExpirationMinutesWithResourceData: number;
  listPageSize: number;
  /** `loopback` lets http:// URLs on 127.0.0.1/localhost through (Graph itself could never reach those). */
  allowHttpNotificationUrl: 'never' | 'loopback' | 'always';
  handshakeTimeoutMs: number;
  /** How long a subscription's own access lasts before it needs a renewal or reauthorize call. */
  authorizationMinutes: number;
  /** How long before that (or before expiry) `reauthorizationRequired` is sent. */
  reauthorizationLeadMinutes: number;
}

export interface ThrottleOptions {
  mailboxConcurrency: number;
  mailboxRequestsPer10Min: number;
  batchItemConcurrency: number;
  subscriptionWritesPer20s: number;
  subscriptionReauthorizePer20s: number;
  subscriptionListPer20s: number;
  subscriptionGetPer20s: number;
  /** The same request types' quotas per app across all tenants (Graph: 2,000 / 4,000 / 40 / 2,000 per 20 s). */
  subscriptionWritesPer20sPerApp: number;
  subscriptionReauthorizePer20sPerApp: number;
  subscriptionListPer20sPerApp: number;
  subscriptionGetPer20sPerApp: number;
}

export interface GraphSimOptions {
  host: string;
  port: number;
  seed: number;
  clockStartMs: number;
  clockSpeed: number;
  tokenLifetimeMinutes: { min: number; max: number };
  tenants: SeedTenant[];
  apps: SeedApp[];
  /** Extra users generated per tenant (user-0001@domain…), for load tests. */
  extraUsersPerTenant: number;
  /** Seeds each tenant with a team ("Contoso team"), its channel "General" and a group chat of its users. */
  seedTeams: boolean;
  deltaPageSize: number;
  shuffleBatchResponses: boolean;
  faults: FaultOptions;
  delivery: DeliveryOptions;
  subscriptions: SubscriptionOptions;
  throttling: ThrottleOptions;
  maxRecords: number;
}

export type GraphSimInput = Partial<Omit<GraphSimOptions, 'faults' | 'delivery' | 'subscriptions' | 'throttling'>> & {
  faults?: Partial<FaultOptions>;
  delivery?: Partial<DeliveryOptions>;
  subscriptions?: Partial<SubscriptionOptions>;
  throttling?: Partial<ThrottleOptions>;
};

/** Fixed ids, so docs, `.env` files and tests can name them. */
export const CONTOSO_TENANT_ID = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
export const FABRIKAM_TENANT_ID = '0c8d2a54-91b7-4e3f-8d26-5a9e7c1b4f30';
export const DEV_APP_ID = 'b3a9d5c1-2e4f-4a6b-8c7d-9e0f1a2b3c4d';
export const DEV_APP_SECRET = 'graph-sim-dev-secret';

export const DEFAULT_TENANTS: SeedTenant[] = [
  {
    id: CONTOSO_TENANT_ID,
    domain: 'contoso.onmicrosoft.com',
    users: [
      {
        id: '1d5c2b8a-7e3f-4c91-b6a0-2f8e9d4c7b15',
        userPrincipalName: 'adele@contoso.onmicrosoft.com',
        displayName: 'Adele Vance',
      },
      {
        id: '8a4e6f2d-3b1c-4d7e-9f05-6c2a1b8e3d94',
        userPrincipalName: 'alex@contoso.onmicrosoft.com',
        displayName: 'Alex Wilber',
      },
    ],
  },
  {
    id: FABRIKAM_TENANT_ID,
    domain: 'fabrikam.onmicrosoft.com',
    users: [
      {
        id: '4f7b1e9c-5a2d-4e8f-a3c6-0d9b2e7f1a58',
        userPrincipalName: 'megan@fabrikam.onmicrosoft.com',
        displayName: 'Megan Bowen',
      },
    ],
  },
];

export const DEFAULT_APPS: SeedApp[] = [
  {
    clientId: DEV_APP_ID,
    clientSecret: DEV_APP_SECRET,
    displayName: 'graph2kafka (dev)',
    tenants: [CONTOSO_TENANT_ID, FABRIKAM_TENANT_ID],
  },
];

export const DEFAULT_FAULTS: FaultOptions = {
  latencyMs: 0,
  latencyJitterMs: 0,
  mailboxServiceTimeMs: 0,
  throttleRate: 0,
  unavailableRate: 0,
  batchThrottleRate: 0,
  retryAfterSeconds: 2,
  tokenOutage: false,
  tokenOutageRetryAfterSeconds: 0,
  deliveryDropRate: 0,
  silentDropRate: 0,
  duplicateDeliveryRate: 0,
  duplicateDelayMs: 2_000,
  delayDeliveryRate: 0,
  delayDeliveryMs: 5_000,
  calendarEditNotifications: { min: 1, max: 1 },
};

const DEFAULTS: Omit<GraphSimOptions, 'clockStartMs'> = {
  host: '127.0.0.1',
  port: 0,
  seed: 1,
  clockSpeed: 1,
  tokenLifetimeMinutes: { min: 60, max: 90 },
  tenants: DEFAULT_TENANTS,
  apps: DEFAULT_APPS,
  extraUsersPerTenant: 0,
  seedTeams: false,
  deltaPageSize: 10,
  shuffleBatchResponses: true,
  faults: DEFAULT_FAULTS,
  delivery: {
    maxNotificationsPerPost: 10,
    batchWindowMs: 50,
    concurrencyPerUrl: 8,
    firstAttemptTimeoutMs: 3_000,
    retryTimeoutMs: 10_000,
    retryBaseDelayMs: 10_000,
    retryMaxDelayMs: 30 * 60_000,
    retryForMs: 4 * 3_600_000,
    healthWindowMs: 10 * 60_000,
    healthMinSamples: 100,
    slowThreshold: 0.1,
    dropThreshold: 0.15,
    slowDelayMs: 10 * 60_000,
    dropForMs: 10 * 60_000,
  },
  subscriptions: {
    quotaPerMailbox: 1_000,
    minExpirationMinutes: 45,
    maxExpirationMinutes: 10_080,
    maxExpirationMinutesWithResourceData: 1_440,
    listPageSize: 100,
    allowHttpNotificationUrl: 'loopback',
    handshakeTimeoutMs: 10_000,
    authorizationMinutes: 60,
    reauthorizationLeadMinutes: 15,
  },
  throttling: {
    mailboxConcurrency: 4,
    mailboxRequestsPer10Min: 10_000,
    batchItemConcurrency: 4,
    subscriptionWritesPer20s: 500,
    subscriptionReauthorizePer20s: 1_000,
    subscriptionListPer20s: 25,
    subscriptionGetPer20s: 500,
    subscriptionWritesPer20sPerApp: 2_000,
    subscriptionReauthorizePer20sPerApp: 4_000,
    subscriptionListPer20sPerApp: 40,
    subscriptionGetPer20sPerApp: 2_000,
  },
  maxRecords: 500_000,
};

const isRate = (v: number): boolean => v >= 0 && v <= 1;

export function resolveOptions(input: GraphSimInput = {}): GraphSimOptions {
  const options: GraphSimOptions = {
    ...DEFAULTS,
    ...input,
    clockStartMs: input.clockStartMs ?? Date.now(),
    faults: { ...DEFAULTS.faults, ...input.faults },
    delivery: { ...DEFAULTS.delivery, ...input.delivery },
    subscriptions: { ...DEFAULTS.subscriptions, ...input.subscriptions },
    throttling: { ...DEFAULTS.throttling, ...input.throttling },
  };
  validateFaults(options.faults);
  if (!(options.clockSpeed > 0)) throw new SimUsageError(`clockSpeed must be > 0, got ${options.clockSpeed}`);
  const { min, max } = options.tokenLifetimeMinutes;
  if (!(min > 0 && max >= min)) {
    throw new SimUsageError(`tokenLifetimeMinutes needs 0 < min <= max, got ${min}..${max}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new SimUsageError(`port must be an integer 0..65535, got ${options.port}`);
  }
  return options;
}

export function validateFaults(faults: FaultOptions): void {
  // A misspelt option would otherwise be accepted and do nothing, and the fault a test relies on never happen.
  const unknown = Object.keys(faults).filter((k) => !Object.hasOwn(DEFAULT_FAULTS, k));
  if (unknown.length)
    throw new SimUsageError(
      `unknown fault option(s) ${unknown.join(', ')}; known: ${Object.keys(DEFAULT_FAULTS).join(', ')}`,
    );
  for (const key of [
    'throttleRate',
    'unavailableRate',
    'batchThrottleRate',
    'deliveryDropRate',
    'silentDropRate',
    'duplicateDeliveryRate',
    'delayDeliveryRate',
  ] as const) {
    if (typeof faults[key] !== 'number' || !isRate(faults[key])) {
      throw new SimUsageError(`faults.${key} must be a number from 0 to 1, got ${String(faults[key])}`);
    }
  }
  for (const key of [
    'latencyMs',
    'latencyJitterMs',
    'mailboxServiceTimeMs',
    'retryAfterSeconds',
    'tokenOutageRetryAfterSeconds',
  ] as const) {
    if (typeof faults[key] !== 'number' || !(faults[key] >= 0)) {
      throw new SimUsageError(`faults.${key} must be a number >= 0, got ${String(faults[key])}`);
    }
  }
  // Simulated-clock timers: whole milliseconds.
  for (const key of ['duplicateDelayMs', 'delayDeliveryMs'] as const) {
    if (!Number.isInteger(faults[key]) || faults[key] < 0) {
      throw new SimUsageError(`faults.${key} must be an integer number of ms >= 0, got ${String(faults[key])}`);
    }
  }
  const edit = faults.calendarEditNotifications as unknown;
  const { min, max } = (typeof edit === 'object' && edit !== null ? edit : {}) as Record<string, unknown>;
  if (
    !Number.isInteger(min) ||
    !Number.isInteger(max) ||
    (min as number) < 1 ||
    (max as number) > 5 ||
    (min as number) > (max as number)
  ) {
    throw new SimUsageError(
      `faults.calendarEditNotifications must be {min, max} with integers 1 <= min <= max <= 5, got ${JSON.stringify(edit)}`,
    );
  }
  if (typeof faults.tokenOutage !== 'boolean') throw new SimUsageError('faults.tokenOutage must be true or false');
}
