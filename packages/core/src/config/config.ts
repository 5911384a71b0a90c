import { readFileSync } from 'node:fs';
import { ConfigError, SecretError } from '../errors.ts';
import { KINDS, type KindName } from '../kinds/index.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../receive/wire-guard.ts';
import { parseChangeTypes, parseDesiredState, type DesiredEntry } from './desired-state.ts';
import { parseReference, unresolvedKeyVaultReference, type SecretSource } from './secrets.ts';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** How the producer authenticates to Kafka (see docs/kafka-targets.md). */
export type KafkaAuth =
  | { mechanism: SaslMechanism; username: string; password: string }
  /** Entra ID tokens (Azure Event Hubs): the Graph app's own secret, or the Function App's managed identity. */
  | {
      mechanism: 'oauthbearer';
      provider: 'entra';
      scope: string;
      identity: 'app' | 'managed';
      managedClientId?: string;
    }
  /** Google access tokens of the runtime's service account (Managed Service for Apache Kafka). */
  | { mechanism: 'oauthbearer'; provider: 'google' };

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  ssl: boolean;
  sslCaPem: string | undefined;
  /** Client certificate and key (PEM) for brokers that authenticate clients by mutual TLS. */
  sslClientCert?: { cert: string; key: string } | undefined;
  sasl: KafkaAuth | undefined;
  /** Largest record (and produce request) sent; larger events go out reduced or to the dead-letter topic. */
  maxRecordBytes: number;
}

export interface GraphSettings {
  baseUrl: string;
  authorityHost: string;
  homeTenantId: string;
  clientId: string;
  clientSecret: string;
  /** Extra CA certificate(s) to trust for Graph and login, e.g. graph-sim's self-signed one. */
  caPem: string | undefined;
  batchConcurrency: number;
  /** How long a read waits for others to share its `$batch` (fewer Graph requests, a little latency). */
  batchLingerMs: number;
}

export type StateStoreSettings =
  | { kind: 'file'; dir: string }
  | { kind: 'azure-table'; endpoint: string; table: string; managedIdentityClientId?: string }
  | { kind: 'azure-table-connection-string'; connectionString: string; table: string }
  | { kind: 'postgres'; connectionString: string };

/** What the subscription manager keeps alive; absent when G2K_NOTIFICATION_URL is not set. */
export interface SubscriptionSettings {
  /**
   * The desired state: G2K_SUBSCRIPTIONS_FILE's entries, then the shorthand settings' (G2K_SUBSCRIBE_USERS,
   * G2K_SUBSCRIBE_GROUPS for the kinds in G2K_SUBSCRIBE_KINDS, in the home tenant).
   */
  desired: DesiredEntry[];
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  lifetimeMinutes: number;
  renewWithinMinutes: number;
  resyncPastDays: number;
  resyncFutureDays: number;
  limits: { writesPer20s: number; reauthorizePer20s: number; listPer20s: number };
}

export interface Config {
  graph: GraphSettings;
  allowedTenants: Set<string>;
  kafka: KafkaSettings;
  /** A topic per resource kind, and the lifecycle and dead-letter topics. */
  topics: Record<KindName, string> & { lifecycle: string; deadLetter: string };
  /** Milliseconds from arrival within which enrichment must finish; the rest of Graph's 3 s is for Kafka. */
  timeBudgetMs: number;
  maxBodyBytes: number;
  /** Changes produced without their event that the repair queue holds at most. */
  repairQueueMax: number;
  stateStore: StateStoreSettings;
  subscriptions: SubscriptionSettings | undefined;
  /** Who may call the GCP renewal endpoint: Cloud Scheduler's OIDC token for this audience (and invoker). */
  renewalAuth: { audience: string; invoker: string; issuer: string; jwksUrl: string } | undefined;
}

/** Every setting, for the README's reference table and for error messages. */
export const SETTINGS = {
  GRAPH_BASE_URL: 'Graph v1.0 base URL (national clouds, graph-sim)',
  AZURE_AUTHORITY_HOST: 'Entra ID login host',
  AZURE_TENANT_ID: 'the app registration’s home tenant',
  AZURE_CLIENT_ID: 'the app registration’s client id',
  AZURE_CLIENT_SECRET: 'the client secret (or sm:projects/…/secrets/…/versions/…)',
  G2K_ALLOWED_TENANTS: 'tenants whose notifications are accepted',
  G2K_GRAPH_CA_FILE: 'extra CA certificate (PEM) for Graph and login',
  G2K_GRAPH_BATCH_CONCURRENCY: '$batch requests in flight at once per function instance',
  G2K_GRAPH_BATCH_LINGER_MS: 'how long an event read waits for others to share its $batch',
  KAFKA_BROKERS: 'Kafka bootstrap servers',
  KAFKA_CLIENT_ID: 'Kafka client id',
  KAFKA_SSL: 'TLS to Kafka',
  KAFKA_SSL_CA_FILE: 'CA certificate (PEM) for Kafka TLS',
  KAFKA_SSL_CA_PEM: 'CA certificate (PEM text, or a secret reference) for Kafka TLS',
  KAFKA_SSL_CLIENT_CERT: 'client certificate (PEM, or a secret reference) for mutual TLS',
  KAFKA_SSL_CLIENT_KEY: 'client private key (PEM, or a secret reference) for mutual TLS',
  KAFKA_SASL_MECHANISM: 'plain, scram-sha-256, scram-sha-512 or oauthbearer',
  KAFKA_SASL_USERNAME: 'SASL user',
  KAFKA_SASL_PASSWORD: 'SASL password (or sm:…)',
  KAFKA_OAUTH_PROVIDER: 'oauthbearer token source: entra (Event Hubs) or google (Managed Service for Apache Kafka)',
  KAFKA_OAUTH_SCOPE: 'Entra scope of the Kafka tokens, e.g. https://NAMESPACE.servicebus.windows.net/.default',
  KAFKA_OAUTH_IDENTITY: 'Entra identity for Kafka tokens: app (AZURE_CLIENT_ID/SECRET) or managed',
  G2K_TOPIC: 'topic for event records',
  G2K_MESSAGES_TOPIC: 'topic for message records',
  G2K_CONTACTS_TOPIC: 'topic for contact records',
  G2K_LIFECYCLE_TOPIC: 'topic for lifecycle notifications',
  G2K_DEAD_LETTER_TOPIC: 'topic for changes Kafka refused even reduced, with the raw notification',
  G2K_MAX_RECORD_BYTES:
    'largest record and produce request; larger events are produced without their largest properties',
  G2K_TIME_BUDGET_MS: 'enrichment time budget',
  G2K_MAX_BODY_BYTES: 'largest notification POST accepted',
  G2K_REPAIR_QUEUE_MAX: 'unenriched changes the repair queue holds at most (in the state store)',
  G2K_STATE_STORE:
    'where subscription state lives: file:<dir>, postgres, azure-table:<table endpoint URL> or azure-table-connection-string',
  G2K_TABLE_CONNECTION_STRING:
    'the storage connection string, with G2K_STATE_STORE=azure-table-connection-string (or sm:…)',
  G2K_TABLE_NAME: 'the Azure table that holds the state',
  G2K_MANAGED_IDENTITY_CLIENT_ID:
    'client id of the user-assigned managed identity for Table Storage and Kafka tokens (empty: system-assigned)',
  G2K_POSTGRES_URL:
    'with G2K_STATE_STORE=postgres: postgresql://USER:PASSWORD@/DB?host=/cloudsql/PROJECT:REGION:INSTANCE (or sm:…)',
  G2K_NOTIFICATION_URL: 'the public URL of the notification function (turns the subscription manager on)',
  G2K_LIFECYCLE_URL: 'the public URL of the lifecycle function',
  G2K_SUBSCRIPTIONS_FILE:
    'the desired state: a JSON file of (tenant, kind, users/groups, folders, changeTypes, select) entries (docs/desired-state.md)',
  G2K_SUBSCRIBE_USERS: 'shorthand: mailboxes of the home tenant to subscribe to, user object ids, comma-separated',
  G2K_SUBSCRIBE_GROUPS:
    'shorthand: groups whose members are subscribed to, group object ids, comma-separated (needs GroupMember.Read.All)',
  G2K_SUBSCRIBE_KINDS: 'shorthand: the kinds subscribed for those mailboxes: events, messages and/or contacts',
  G2K_CHANGE_TYPES: 'shorthand: change types to subscribe to',
  G2K_SUBSCRIPTION_MINUTES: 'lifetime asked for each subscription, capped at each kind’s maximum (Outlook: 10080)',
  G2K_RENEW_WITHIN_MINUTES: 'renew subscriptions that expire within this many minutes',
  G2K_RESYNC_PAST_DAYS: 'how far back a delta resync reads',
  G2K_RESYNC_FUTURE_DAYS: 'how far ahead a delta resync reads',
  G2K_RENEWAL_AUDIENCE: 'GCP: the audience Cloud Scheduler puts in its OIDC token (the renewal function URL)',
  G2K_RENEWAL_INVOKER: 'GCP: the service account email Cloud Scheduler calls as',
  G2K_OIDC_ISSUER: 'GCP: issuer of the scheduler token',
  G2K_OIDC_JWKS_URL: 'GCP: keys that sign the scheduler token',
  G2K_SUBSCRIPTION_WRITES_PER_20S: 'pace of subscription creates/renewals/deletes per tenant (Graph: 500)',
} as const;

type Env = Record<string, string | undefined>;

/** Connection strings, keys, SAS tokens, passwords in URLs, PEM blocks: what must never reach a log. */
const SECRET_LIKE =
  /AccountKey=|SharedAccessKey|SharedAccessSignature|[?&]sig=|password=|pwd=|:\/\/[^/\s:@]+:[^/\s@]+@|-----BEGIN|^[A-Za-z0-9+/_~.-]{40,}={0,2}$/i;

/**
 * A setting's value for an error message, quoted; one that looks like a secret (say a connection string pasted
 * into the wrong setting) is described instead, since configuration errors end up in logs.
 */
function shown(value: string | undefined): string {
  const v = value ?? '';
  return SECRET_LIKE.test(v) ? `a value that looks like a secret (${v.length} characters, not shown)` : `'${v}'`;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * Reads and checks every setting, resolving secret references through `secrets`. Throws one ConfigError that
 * names every problem at once, so a deployment is fixed in one round.
 */
export async function loadConfig(env: Env, secrets: SecretSource[] = []): Promise<Config> {
  const problems: string[] = [];
  const text = (name: keyof typeof SETTINGS, fallback?: string): string => {
    const value = env[name]?.trim();
    if (value) return value;
    if (fallback !== undefined) return fallback;
    problems.push(`${name} is not set: ${SETTINGS[name]}.`);
    return '';
  };
  const secret = async (name: keyof typeof SETTINGS, required: boolean): Promise<string> => {
    const value = env[name]?.trim();
    if (!value) {
      if (required) problems.push(`${name} is not set: ${SETTINGS[name]}.`);
      return '';
    }
    if (unresolvedKeyVaultReference(value)) {
      problems.push(
        `${name} is an unresolved Key Vault reference; give the Function App's managed identity "get" on the vault's secrets (see docs/deploy-azure.md).`,
      );
      return '';
    }
    const ref = parseReference(value);
    if (!ref) return value;
    const source = secrets.find((s) => s.scheme === ref.scheme);
    if (!source) {
      problems.push(
        `${name} is a ${ref.scheme}: secret reference, but no ${ref.scheme} secret source is available on this platform.`,
      );
      return '';
    }
    try {
      return await source.resolve(ref.name);
    } catch (err) {
      problems.push(`${name}: ${err instanceof SecretError ? err.message : String(err)}`);
      return '';
    }
  };
  const url = (name: keyof typeof SETTINGS, fallback: string): string => {
    const value = text(name, fallback).replace(/\/+$/, '');
    try {
      if (new URL(value).protocol !== 'https:') problems.push(`${name} must be an https URL, got ${shown(value)}.`);
    } catch {
      problems.push(`${name} must be an absolute https URL, got ${shown(value)}.`);
    }
    return value;
  };
  const int = (name: keyof typeof SETTINGS, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got ${shown(raw)}.`);
      return fallback;
    }
    return n;
  };
  const file = (name: keyof typeof SETTINGS): string | undefined => {
    const path = env[name]?.trim();
    if (!path) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      problems.push(
        `${name} names '${path}', which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}).`,
      );
      return undefined;
    }
  };

  const homeTenantId = text('AZURE_TENANT_ID');
  if (homeTenantId && !GUID.test(homeTenantId))
    problems.push(`AZURE_TENANT_ID must be the tenant's GUID, got ${shown(homeTenantId)}.`);
  const clientId = text('AZURE_CLIENT_ID');
  if (clientId && !GUID.test(clientId))
    problems.push(`AZURE_CLIENT_ID must be the app's GUID (Application (client) ID), got ${shown(clientId)}.`);
  const explicitTenants = env.G2K_ALLOWED_TENANTS?.trim();
  const allowed = (explicitTenants || homeTenantId)
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  // Without an explicit list the home tenant is the list, and AZURE_TENANT_ID's own check covers it.
  if (explicitTenants)
    for (const t of allowed)
      if (!GUID.test(t)) problems.push(`G2K_ALLOWED_TENANTS must list tenant GUIDs, got ${shown(t)}.`);

  async function kafkaAuth(brokers: string[]): Promise<KafkaAuth | undefined> {
    const mechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase();
    if (!mechanism) return undefined;
    if (mechanism === 'plain' || mechanism === 'scram-sha-256' || mechanism === 'scram-sha-512')
      return {
        mechanism,
        username: text('KAFKA_SASL_USERNAME'),
        password: await secret('KAFKA_SASL_PASSWORD', true),
      };
    if (mechanism !== 'oauthbearer') {
      problems.push(
        `KAFKA_SASL_MECHANISM must be plain, scram-sha-256, scram-sha-512 or oauthbearer, got ${shown(mechanism)}.`,
      );
      return undefined;
    }
    const host = brokers[0]?.replace(/:\d+$/, '') ?? '';
    const guessed = host.endsWith('.servicebus.windows.net')
      ? 'entra'
      : host.includes('.managedkafka.')
        ? 'google'
        : '';
    const provider = env.KAFKA_OAUTH_PROVIDER?.trim().toLowerCase() || guessed;
    if (provider === 'google') return { mechanism, provider };
    if (provider !== 'entra') {
      problems.push(
        `KAFKA_OAUTH_PROVIDER must be entra (Azure Event Hubs) or google (Managed Service for Apache Kafka)${provider ? `, got ${shown(provider)}` : ' when KAFKA_SASL_MECHANISM=oauthbearer'}.`,
      );
      return undefined;
    }
    const identity = env.KAFKA_OAUTH_IDENTITY?.trim().toLowerCase() || 'app';
    if (identity !== 'app' && identity !== 'managed')
      problems.push(`KAFKA_OAUTH_IDENTITY must be app or managed, got ${shown(identity)}.`);
    const scope =
      env.KAFKA_OAUTH_SCOPE?.trim() || (host.endsWith('.servicebus.windows.net') ? `https://${host}/.default` : '');
    if (!scope) problems.push(`KAFKA_OAUTH_SCOPE is not set: ${SETTINGS.KAFKA_OAUTH_SCOPE}.`);
    const managedClientId = env.G2K_MANAGED_IDENTITY_CLIENT_ID?.trim();
    return {
      mechanism,
      provider,
      scope,
      identity: identity === 'managed' ? 'managed' : 'app',
      ...(managedClientId ? { managedClientId } : {}),
    };
  }

  const brokers = text('KAFKA_BROKERS')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const b of brokers)
    if (!/^[^:\s]+:\d{1,5}$/.test(b)) problems.push(`KAFKA_BROKERS entries must be host:port, got ${shown(b)}.`);
  const sslRaw = (env.KAFKA_SSL ?? 'false').trim().toLowerCase();
  if (!['true', 'false'].includes(sslRaw))
    problems.push(`KAFKA_SSL must be true or false, got ${shown(env.KAFKA_SSL)}.`);
  const sasl = await kafkaAuth(brokers);
  const sslClientCert = await (async () => {
    const [cert, key] = [await secret('KAFKA_SSL_CLIENT_CERT', false), await secret('KAFKA_SSL_CLIENT_KEY', false)];
    if (!cert && !key) return undefined;
    if (!cert || !key)
      problems.push('KAFKA_SSL_CLIENT_CERT and KAFKA_SSL_CLIENT_KEY go together: set both or neither.');
    return { cert, key };
  })();
  const loopbackOnly = brokers.every((b) => /^(localhost|127\.[\d.]+|\[::1\]):/.test(b));
  if (sslRaw !== 'true' && !loopbackOnly && (sasl?.mechanism === 'plain' || sasl?.mechanism === 'oauthbearer'))
    problems.push(
      `KAFKA_SASL_MECHANISM=${sasl.mechanism} sends its secret in clear text without TLS; set KAFKA_SSL=true (every managed Kafka needs it).`,
    );
  if (sslRaw !== 'true' && (env.KAFKA_SSL_CA_PEM || env.KAFKA_SSL_CA_FILE || sslClientCert))
    problems.push('KAFKA_SSL_CA_PEM, KAFKA_SSL_CA_FILE and client certificates need KAFKA_SSL=true.');

  const topicSettings: Record<string, keyof typeof SETTINGS> = {
    ...Object.fromEntries(Object.values(KINDS).map((k) => [k.name, k.topicSetting as keyof typeof SETTINGS])),
    lifecycle: 'G2K_LIFECYCLE_TOPIC',
    deadLetter: 'G2K_DEAD_LETTER_TOPIC',
  };
  const topics = {
    ...(Object.fromEntries(
      Object.values(KINDS).map((k) => [k.name, text(k.topicSetting as keyof typeof SETTINGS, k.defaultTopic)]),
    ) as Record<KindName, string>),
    lifecycle: text('G2K_LIFECYCLE_TOPIC', 'graph.subscription.lifecycle'),
    deadLetter: text('G2K_DEAD_LETTER_TOPIC', 'graph.calendar.deadletter'),
  };
  for (const [key, topic] of Object.entries(topics)) {
    if (!TOPIC.test(topic)) problems.push(`${topicSettings[key]} is not a valid Kafka topic name: '${topic}'.`);
  }
  if (new Set(Object.values(topics)).size !== Object.keys(topics).length)
    problems.push(`${Object.values(topicSettings).join(', ')} must be different topics.`);

  const store = text('G2K_STATE_STORE');
  const table = text('G2K_TABLE_NAME', 'graph2kafka');
  if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(table))
    problems.push(`G2K_TABLE_NAME must be 3-63 letters and digits, starting with a letter, got ${shown(table)}.`);
  let stateStore: StateStoreSettings = { kind: 'file', dir: '' };
  const fileStore = /^file:(.+)$/.exec(store);
  const tableStore = /^azure-table:(https:\/\/.+)$/.exec(store);
  if (fileStore) stateStore = { kind: 'file', dir: fileStore[1]! };
  else if (tableStore) {
    const managedIdentityClientId = env.G2K_MANAGED_IDENTITY_CLIENT_ID?.trim();
    stateStore = {
      kind: 'azure-table',
      endpoint: tableStore[1]!,
      table,
      ...(managedIdentityClientId ? { managedIdentityClientId } : {}),
    };
  } else if (store === 'azure-table-connection-string') {
    stateStore = {
      kind: 'azure-table-connection-string',
      connectionString: await secret('G2K_TABLE_CONNECTION_STRING', true),
      table,
    };
  } else if (store === 'postgres') {
    stateStore = { kind: 'postgres', connectionString: await secret('G2K_POSTGRES_URL', true) };
  } else if (store) {
    problems.push(
      `G2K_STATE_STORE must be file:<directory>, postgres, azure-table:https://<account>.table.core.windows.net or azure-table-connection-string, got ${shown(store)}.`,
    );
  }

  let subscriptions: SubscriptionSettings | undefined;
  if (env.G2K_NOTIFICATION_URL?.trim()) {
    const hookUrl = (name: 'G2K_NOTIFICATION_URL' | 'G2K_LIFECYCLE_URL'): string => {
      const value = text(name);
      try {
        const u = new URL(value);
        // Graph only calls https; graph-sim also reaches http on loopback, for local development.
        if (u.protocol !== 'https:' && !(u.protocol === 'http:' && ['127.0.0.1', 'localhost'].includes(u.hostname))) {
          problems.push(`${name} must be an https URL (http only on 127.0.0.1/localhost), got ${shown(value)}.`);
        }
      } catch {
        if (value) problems.push(`${name} must be an absolute URL, got ${shown(value)}.`);
      }
      return value;
    };
    const ids = (name: 'G2K_SUBSCRIBE_USERS' | 'G2K_SUBSCRIBE_GROUPS'): string[] => {
      const list = text(name, '')
        .split(',')
        .map((u) => u.trim().toLowerCase())
        .filter(Boolean);
      for (const id of list)
        if (!GUID.test(id)) problems.push(`${name} must list object ids (GUIDs), got ${shown(id)}.`);
      return list;
    };
    const desired: DesiredEntry[] = [];
    const desiredFile = env.G2K_SUBSCRIPTIONS_FILE?.trim();
    if (desiredFile) {
      const content = file('G2K_SUBSCRIPTIONS_FILE');
      if (content !== undefined)
        desired.push(...parseDesiredState(content, 'G2K_SUBSCRIPTIONS_FILE', homeTenantId, problems));
    }
    const users = ids('G2K_SUBSCRIBE_USERS');
    const groups = ids('G2K_SUBSCRIBE_GROUPS');
    const kinds = text('G2K_SUBSCRIBE_KINDS', 'events')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
    for (const kind of kinds) {
      if (!Object.prototype.hasOwnProperty.call(KINDS, kind)) {
        problems.push(`G2K_SUBSCRIBE_KINDS must list ${Object.keys(KINDS).join(', ')}, got ${shown(kind)}.`);
        continue;
      }
      const k = KINDS[kind as KindName];
      const changeTypes = parseChangeTypes(
        env.G2K_CHANGE_TYPES?.trim() || undefined,
        k.changeTypes,
        k.defaultChangeTypes,
        'G2K_CHANGE_TYPES',
        problems,
      );
      if (users.length || groups.length)
        desired.push({
          source: `G2K_SUBSCRIBE_USERS/G2K_SUBSCRIBE_GROUPS (${kind})`,
          tenantId: homeTenantId.toLowerCase(),
          kind: k.name,
          users,
          groups,
          folders: [],
          changeTypes,
          select: undefined,
        });
    }
    subscriptions = {
      desired,
      notificationUrl: hookUrl('G2K_NOTIFICATION_URL'),
      lifecycleNotificationUrl: hookUrl('G2K_LIFECYCLE_URL'),
      lifetimeMinutes: int('G2K_SUBSCRIPTION_MINUTES', 10_000, 45, 10_080),
      renewWithinMinutes: int('G2K_RENEW_WITHIN_MINUTES', 2_880, 10, 10_000),
      resyncPastDays: int('G2K_RESYNC_PAST_DAYS', 30, 0, 3_650),
      resyncFutureDays: int('G2K_RESYNC_FUTURE_DAYS', 365, 1, 3_650),
      limits: {
        writesPer20s: int('G2K_SUBSCRIPTION_WRITES_PER_20S', 500, 1, 500),
        reauthorizePer20s: 1_000,
        listPer20s: 25,
      },
    };
  }

  const config: Config = {
    graph: {
      baseUrl: url('GRAPH_BASE_URL', 'https://graph.microsoft.com/v1.0'),
      authorityHost: url('AZURE_AUTHORITY_HOST', 'https://login.microsoftonline.com'),
      homeTenantId: homeTenantId.toLowerCase(),
      clientId,
      clientSecret: await secret('AZURE_CLIENT_SECRET', true),
      caPem: file('G2K_GRAPH_CA_FILE'),
      batchConcurrency: int('G2K_GRAPH_BATCH_CONCURRENCY', 4, 1, 32),
      batchLingerMs: int('G2K_GRAPH_BATCH_LINGER_MS', 40, 0, 500),
    },
    // Without an explicit list: the home tenant and every tenant the desired state subscribes in.
    allowedTenants: new Set(
      explicitTenants ? allowed : [...allowed, ...(subscriptions?.desired.map((d) => d.tenantId) ?? [])],
    ),
    kafka: {
      brokers,
      clientId: text('KAFKA_CLIENT_ID', 'graph2kafka'),
      ssl: sslRaw === 'true',
      sslCaPem: (await secret('KAFKA_SSL_CA_PEM', false)) || file('KAFKA_SSL_CA_FILE'),
      sslClientCert,
      sasl,
      // Event Hubs refuses produce requests over 1,046,528 bytes; Kafka's default message.max.bytes is 1,048,588.
      maxRecordBytes: int('G2K_MAX_RECORD_BYTES', 1_000_000, 10_000, 100_000_000),
    },
    topics,
    timeBudgetMs: int('G2K_TIME_BUDGET_MS', 2_000, 100, 2_800),
    maxBodyBytes: int('G2K_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1_024, 33_554_432),
    repairQueueMax: int('G2K_REPAIR_QUEUE_MAX', 100_000, 100, 10_000_000),
    stateStore,
    subscriptions,
    renewalAuth: env.G2K_RENEWAL_AUDIENCE?.trim()
      ? {
          audience: text('G2K_RENEWAL_AUDIENCE'),
          // Without it any Google-signed token for the audience would do: every Google account can mint one.
          invoker: text('G2K_RENEWAL_INVOKER'),
          issuer: text('G2K_OIDC_ISSUER', 'https://accounts.google.com'),
          jwksUrl: text('G2K_OIDC_JWKS_URL', 'https://www.googleapis.com/oauth2/v3/certs'),
        }
      : undefined,
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}
