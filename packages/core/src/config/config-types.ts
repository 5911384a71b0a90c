import type { KindName } from '../kinds/index.ts';
import type { DesiredEntry } from './desired-state.ts';

/** The producer libraries graph2kafka can send with (KAFKA_CLIENT). */
export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

/** A topic per resource kind, and the lifecycle and dead-letter topics. */
export type TopicSettings = Record<KindName, string> & { lifecycle: string; deadLetter: string };

/** Who may call the GCP renewal endpoint: Cloud Scheduler's OIDC token for this audience (and invoker). */
export interface RenewalAuth {
  audience: string;
  invoker: string;
  issuer: string;
  jwksUrl: string;
}

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
  /** The producer library (KAFKA_CLIENT). */
  client: KafkaClientName;
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
  | { kind: 'azure-table'; endpoint: string; table: string }
  | { kind: 'azure-table-connection-string'; connectionString: string; table: string }
  | { kind: 'postgres'; connectionString: string };

/** What the subscription manager keeps alive; absent when G2K_NOTIFICATION_URL is not set. */
/** Graph's subscription-API quotas per app and tenant, and per app across its tenants (`...PerApp`). */
export interface SubscriptionApiLimits {
  writesPer20s: number;
  reauthorizePer20s: number;
  listPer20s: number;
  writesPer20sPerApp: number;
  reauthorizePer20sPerApp: number;
  listPer20sPerApp: number;
}

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
  /** Entries that do not say: whether new targets get a snapshot (G2K_SNAPSHOT). */
  snapshot: boolean;
  /** Entries that do not say: hours between sweep rounds per target, 0 off (G2K_SWEEP_HOURS). */
  sweepHours: number;
  limits: SubscriptionApiLimits;
}
