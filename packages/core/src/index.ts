export { createApp, createAppFromEnv, type AppOverrides, type Graph2Kafka } from './app.ts';
export {
  loadConfig,
  SETTINGS,
  type Config,
  type GraphSettings,
  type KafkaAuth,
  type KafkaSettings,
  type MetricsExporterName,
  type OperationsSettings,
} from './config/config.ts';
export { GoogleSecretManagerSource, parseReference, type SecretSource } from './config/secrets.ts';
export { KeyVaultSecretSource, parseKeyVaultReference, type KeyVaultReference } from './config/key-vault-source.ts';
export { operatorSecretSources } from './config/operator-secrets.ts';
export { azureCredential } from './azure/azure-credential.ts';
export { detectedMode, type AzureCredentialMode, type AzureIdentitySettings } from './azure/azure-identity.ts';
export {
  AzureCredentialError,
  ConfigError,
  errorMessage,
  GraphRequestError,
  KafkaAuthError,
  ProduceError,
  SecretError,
  TokenError,
} from './errors.ts';
export {
  DeadLetters,
  REPLAY_GROUP,
  type DeadLetter,
  type LetterRefusal,
  type RefusalReason,
  type ReplayReport,
} from './deadletter/dead-letters.ts';
export { EventFetcher, type FetchOutcome } from './graph/event-fetcher.ts';
export { GraphClient } from './graph/graph-client.ts';
export { IdentityTokenSource, type TokenSource } from './graph/token-provider.ts';
export { EventProducer, type EventUnit, type UnitResult } from './kafka/event-producer.ts';
export { TopicRouter, type FixedTopics, type TopicName } from './kafka/topic-router.ts';
export { CLOUDEVENTS_MODES, RecordEncoder, type CloudEventsMode } from './format/record-encoder.ts';
export { VALUE_FORMATS, type ValueFormat, type ValueFormatName } from './format/value-format.ts';
export { VALUE_FORMAT_WRITERS } from './format/value-formats.ts';
export { debeziumEnvelope, type DebeziumEnvelope, type DebeziumOp } from './format/debezium-format.ts';
export { MemoryKeyFence } from './fence/memory-fence.ts';
export { KafkaRecordSink, type RecordSink } from './kafka/producer.ts';
export { googleKafkaToken, kafkaSasl, type GoogleTokens, type KafkaAuthDeps } from './kafka/auth.ts';
export { jsonLogger, RequestLogs, silentLogger, type Logger } from './logger.ts';
export { Metrics, SLOW_ANSWER_MS, type SubscriptionSnapshot, type SubscriptionState } from './metrics/metrics.ts';
export {
  metricsProvider,
  type AppMetricsProvider,
  type ExporterFactories,
  type ExporterFactory,
} from './metrics/provider.ts';
export { flatten, lineExporter, seriesName } from './metrics/line-exporter.ts';
export { subscriptionSnapshot, subscriptionState } from './metrics/subscription-snapshot.ts';
export { HealthReporter } from './health/health-reporter.ts';
export { formatStatus, pipelineStatus, STATUS_THRESHOLDS, type StatusReport } from './health/status.ts';
export { answerHandshake } from './receive/handshake.ts';
export { jsonResponse, readLimited, type CoreRequest, type CoreResponse } from './receive/http.ts';
export { graphWebhook, type WebhookApp } from './receive/webhook.ts';
export type { ChangeNotification, LifecycleNotification, VerifiedChange } from './receive/notification.ts';
export type { ItemOutcome, Rejection } from './receive/outcome.ts';
export { boundToSubscription, parseItemResource, type NamedItem } from './receive/resource.ts';
export {
  isKindName,
  KIND_NAMES,
  KINDS,
  kindOf,
  kindOfResource,
  type ChangeType,
  type KindName,
  type ResourceKind,
  type Target,
} from './kinds/index.ts';
export { parseDesiredState, type DesiredEntry } from './config/desired-state.ts';
export { parseEnvelope, type Envelope, type Item } from './receive/envelope.ts';
export { NotificationReceiver, type ReceiverCounters } from './receive/receiver.ts';
export { PostVerifier, sameSecret } from './receive/verify.ts';
export {
  changeRecords,
  eventKey,
  RECORD_SCHEMA_VERSION,
  type ChangeInput,
  type ChangeRecords,
  type ChangeRecordFacts,
  type DeadLetterValue,
  type EventRecordValue,
  type KafkaRecord,
  type LifecycleRecordValue,
} from './record.ts';
export { Collection, defineCollection, type CollectionSpec } from './state/collection.ts';
export type {
  CollectionLayout,
  DeleteCondition,
  Doc,
  DocumentStore,
  ListQuery,
  StoredDoc,
} from './state/document-types.ts';
export { openDocumentStore } from './state/document-store.ts';
export { FileDocumentStore } from './state/file-store.ts';
export { TableDocumentStore } from './state/table-store.ts';
export { PostgresDocumentStore } from './state/postgres-store.ts';
export { pendingId } from './subscriptions/pending-marker.ts';
export { CachedSubscriptions, type Subscriptions } from './subscriptions/subscription-cache.ts';
export { subscriptionCollection } from './subscriptions/subscription-collection.ts';
export type { SubscriptionRecord } from './subscriptions/subscription-types.ts';
export { repairCollection, repairId } from './repair/repair-collection.ts';
export { healthCollection } from './health/health-collection.ts';
export { seriesCollection, seriesDueCollection, seriesId, seriesOwnerPrefix } from './series/series-collections.ts';
export { TokenClaims, tokenClaimCollection, type TokenClaim } from './rich/token-claims.ts';
export { Repairer, type RepairReport } from './repair/repairer.ts';
export { expansionWindow, SeriesExpander } from './series/series-expander.ts';
export type { ExpansionReport, SeriesOrigin } from './series/series-types.ts';
export { SubscriptionManager, type ReconcileReport } from './subscriptions/manager.ts';
export { Resyncer, type ResyncResult } from './subscriptions/resync.ts';
export { SubscriptionApi, type GraphSubscription } from './subscriptions/subscription-api.ts';
export type { AnswerWindowRecord, HealthRecord, TimerRunRecord } from './health/health-types.ts';
export type { RepairEntry } from './repair/repair-types.ts';
export type { MailboxSyncState, SyncRef } from './subscriptions/sync-types.ts';
export type { SeriesDue, SeriesRef, SeriesState } from './series/series-types.ts';
export { syncCollection, syncKey } from './subscriptions/sync-collection.ts';
export type { SubscriptionSettings } from './config/config.ts';
export { verifySchedulerToken, type SchedulerVerdict } from './subscriptions/scheduler-auth.ts';
export { renewalRequest, RenewalNotConfigured, runRenewal, type RenewalReport } from './subscriptions/renewal.ts';
export type { ClaimVerdict, FenceClaim, FenceMark, KeyFence } from './fence/fence-types.ts';
export { SETTING_DOMAINS, settingsTable, type SettingDomain, type SettingSpec } from './config/settings.ts';
export { recordSchemas, SCHEMA_BASE, schemaFileFor } from './schemas/record-schemas.ts';
export { decryptContent, type KeyRing } from './rich/decrypt.ts';
export { createEncryptionCertificate, type EncryptionCertificate } from './rich/certificate.ts';
export {
  CHANGE_TRACKING_APP_ID,
  MICROSOFT_JWKS_URL,
  ValidationTokenVerifier,
  type ValidationTokenOptions,
} from './rich/validation-tokens.ts';
export type { DecryptFailure, DecryptResult, EncryptedContent, TokenFailure, TokenVerdict } from './rich/rich-types.ts';
export { trustingFetch } from './graph/trusting-fetch.ts';
