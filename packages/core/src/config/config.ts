import { ConfigError } from '../errors.ts';
import type { KindName } from '../kinds/index.ts';
import type { DesiredEntry } from './desired-state.ts';
import { EnvReader, type Env } from './env-reader.ts';
import { readGraph } from './graph-config.ts';
import { readDeadLetterKeys, type DeadLetterKeys } from './dead-letter-config.ts';
import { readKafka, readRecordFormat, readTopicTemplate, readTopics, type KafkaClientName } from './kafka-config.ts';
import type { CloudEventsMode } from '../format/record-encoder.ts';
import type { ValueFormatName } from '../format/value-format.ts';
import { readOperations, type OperationsSettings } from './operations-config.ts';
import { readReceive } from './receive-config.ts';
import { readAzureIdentity } from './azure-identity-config.ts';
import type { AzureIdentitySettings } from '../azure/azure-identity.ts';
import { readRich, type RichSettings } from './rich-config.ts';
import type { SecretSource } from './secrets.ts';
import type { SubscriptionApiLimits } from '../subscriptions/subscription-api.ts';
import { readStateStore } from './state-config.ts';
import { readRenewalAuth, readSubscriptions } from './subscription-config.ts';

export { SETTINGS, type SettingName } from './settings.ts';
export type { MetricsExporterName, OperationsSettings } from './operations-config.ts';

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

export interface Config {
  graph: GraphSettings;
  allowedTenants: Set<string>;
  kafka: KafkaSettings;
  /** A topic per resource kind, and the lifecycle and dead-letter topics. */
  topics: Record<KindName, string> & { lifecycle: string; deadLetter: string };
  /** G2K_TOPIC_TEMPLATE: per kind and tenant topics instead of `topics` (kafka/topic-router.ts). */
  topicTemplate: string | undefined;
  /** G2K_VALUE_FORMAT: how change records' values are written. */
  valueFormat: ValueFormatName;
  /** G2K_CLOUDEVENTS: CloudEvents binary-mode headers on every record, or none. */
  cloudEvents: CloudEventsMode;
  /** Milliseconds from arrival within which enrichment must finish; the rest of Graph's 3 s is for Kafka. */
  timeBudgetMs: number;
  maxBodyBytes: number;
  /**
   * Heap bytes the POSTs in flight on an instance may hold (G2K_INFLIGHT_BYTES_MAX). The adapters enforce it
   * before the app loads (instanceAdmission reads the same setting); here it is checked, so a bad value is
   * reported with every other problem.
   */
  inflightBytesMax: number;
  /** Changes produced without their event that the repair queue holds at most. */
  repairQueueMax: number;
  stateStore: StateStoreSettings;
  /** Who reaches Table Storage, Event Hubs and Key Vault by identity: the function's, or the operator's. */
  azure: AzureIdentitySettings;
  subscriptions: SubscriptionSettings | undefined;
  /** Who may call the GCP renewal endpoint: Cloud Scheduler's OIDC token for this audience (and invoker). */
  renewalAuth: { audience: string; invoker: string; issuer: string; jwksUrl: string } | undefined;
  operations: OperationsSettings;
  /** Rich notifications (G2K_RICH_*): undefined when no certificate is configured. */
  rich: RichSettings | undefined;
  /** Keys that sign dead letters (G2K_DEAD_LETTER_KEY): undefined when none is configured. */
  deadLetterKeys: DeadLetterKeys | undefined;
}

/**
 * Reads and checks every setting, domain by domain over one environment reader, resolving secret references
 * through `secrets`. Throws one ConfigError that names every problem at once, so a deployment is fixed in one
 * round.
 */
export async function loadConfig(env: Env, secrets: SecretSource[] = []): Promise<Config> {
  const r = new EnvReader(env, secrets);
  const { graph, explicitTenants, allowed } = await readGraph(r);
  const kafka = await readKafka(r);
  const topics = readTopics(r);
  const topicTemplate = readTopicTemplate(r);
  const recordFormat = readRecordFormat(r);
  const stateStore = await readStateStore(r);
  const subscriptions = readSubscriptions(r, graph.homeTenantId);
  const receive = readReceive(r, { explicit: explicitTenants, allowed, desired: subscriptions?.desired ?? [] });
  const config: Config = {
    graph,
    allowedTenants: receive.allowedTenants,
    kafka,
    topics,
    topicTemplate,
    ...recordFormat,
    timeBudgetMs: receive.timeBudgetMs,
    maxBodyBytes: receive.maxBodyBytes,
    inflightBytesMax: receive.inflightBytesMax,
    repairQueueMax: receive.repairQueueMax,
    stateStore,
    azure: readAzureIdentity(r),
    subscriptions,
    renewalAuth: readRenewalAuth(r),
    operations: await readOperations(r),
    rich: await readRich(r, !!subscriptions?.desired.some((d) => d.mode === 'rich')),
    deadLetterKeys: await readDeadLetterKeys(r),
  };
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

export type { DesiredEntry, KindName };
