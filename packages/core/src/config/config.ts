import { ConfigError } from '../errors.ts';
import type { KindName } from '../kinds/index.ts';
import type { DesiredEntry } from './desired-state.ts';
import { EnvReader, type Env } from './env-reader.ts';
import { readGraph } from './graph-config.ts';
import { readDeadLetterKeys, type DeadLetterKeys } from './dead-letter-config.ts';
import {
  readKafka,
  readRecordFormat,
  readTopicTemplate,
  readTopics,
  type CloudEventsMode,
  type ValueFormatName,
} from './kafka-config.ts';
import { readOperations, type OperationsSettings } from './operations-config.ts';
import { readReceive } from './receive-config.ts';
import { readAzureIdentity } from './azure-identity-config.ts';
import type { AzureIdentitySettings } from '../azure/azure-identity.ts';
import { readRich, type RichSettings } from './rich-config.ts';
import type { SecretSource } from './secrets.ts';
import { readStateStore } from './state-config.ts';
import { readRenewalAuth, readSubscriptions } from './subscription-config.ts';

import type {
  GraphSettings,
  KafkaSettings,
  RenewalAuth,
  StateStoreSettings,
  SubscriptionSettings,
  TopicSettings,
} from './config-types.ts';

export type * from './config-types.ts';
export { SETTINGS, type SettingName } from './settings.ts';
export type { MetricsExporterName, OperationsSettings } from './operations-config.ts';

export interface Config {
  graph: GraphSettings;
  allowedTenants: Set<string>;
  kafka: KafkaSettings;
  /** A topic per resource kind, and the lifecycle and dead-letter topics. */
  topics: TopicSettings;
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
  renewalAuth: RenewalAuth | undefined;
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
