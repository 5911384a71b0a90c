import type { TokenCredential } from '@azure/identity';
import type { MeterProvider } from '@opentelemetry/api';
import { azureCredential } from './azure/azure-credential.ts';
import { loadConfig, type Config } from './config/config.ts';
import type { SecretSource } from './config/secrets.ts';
import { EventFetcher } from './graph/event-fetcher.ts';
import { desiredCoverage } from './graph/folder-scope.ts';
import { GraphClient } from './graph/graph-client.ts';
import { IdentityTokenSource, type TokenSource } from './graph/token-provider.ts';
import { DeadLetters } from './deadletter/dead-letters.ts';
import { RecordEncoder } from './format/record-encoder.ts';
import { VALUE_FORMAT_WRITERS } from './format/value-formats.ts';
import { TopicRouter } from './kafka/topic-router.ts';
import { LetterCheck } from './deadletter/letter-check.ts';
import { LetterSigner } from './format/letter-signature.ts';
import { BatchingKeyFence } from './fence/batching-fence.ts';
import { BackgroundWork } from './work/background-work.ts';
import { kafkaSasl } from './kafka/auth.ts';
import { kafkaClient } from './kafka/client.ts';
import { EventProducer } from './kafka/event-producer.ts';
import { KafkaRecordSink, type RecordSink } from './kafka/producer.ts';
import { jsonLogger, type Logger } from './logger.ts';
import { Metrics } from './metrics/metrics.ts';
import { metricsProvider, type ExporterFactories } from './metrics/provider.ts';
import { HealthReporter } from './health/health-reporter.ts';
import { NotificationReceiver } from './receive/receiver.ts';
import { Repairer } from './repair/repairer.ts';
import { SubscriptionManager } from './subscriptions/manager.ts';
import { basicMode } from './subscriptions/mode.ts';
import type { Feature } from './model/feature.ts';
import { waitAtMost } from './timeout.ts';
import { repairFeature } from './repair/repair-feature.ts';
import { seriesFeature } from './series/series-feature.ts';
import { richFeature } from './rich/rich-feature.ts';
import { fenceFeature } from './fence/fence-feature.ts';
import { roundsFeature } from './subscriptions/rounds-feature.ts';
import { deadLetterFeature } from './deadletter/deadletter-feature.ts';
import { lifecycleFeature } from './subscriptions/lifecycle-feature.ts';
import { richMode } from './rich/rich-mode.ts';
import { Resyncer } from './subscriptions/resync.ts';
import { SeriesExpander } from './series/series-expander.ts';
import { RichOpener } from './rich/rich-opener.ts';
import { ValidationTokenVerifier } from './rich/validation-tokens.ts';
import { trustingFetch } from './graph/trusting-fetch.ts';
import { SubscriptionApi } from './subscriptions/subscription-api.ts';
import { openDocumentStore } from './state/document-store.ts';
import type { DocumentStore } from './state/document-types.ts';
import { CachedSubscriptions } from './subscriptions/subscription-cache.ts';
import { TokenClaims } from './rich/token-claims.ts';

export interface Graph2Kafka {
  config: Config;
  receiver: NotificationReceiver;
  /** Present when G2K_NOTIFICATION_URL is set: keeps subscriptions alive and acts on lifecycle events. */
  manager: SubscriptionManager | undefined;
  /** The state every instance shares: each feature keeps its collection there. */
  documents: DocumentStore;
  /** The subscriptions collection, cached: the receive path reads it for every notification. */
  subscriptions: CachedSubscriptions;
  fetcher: EventFetcher;
  graph: GraphClient;
  /** Repairs records produced without their event; drained by the timer run. */
  repairer: Repairer;
  /** Expands recurring series into occurrence records (follow-up work, drained in the background and by the timer). */
  series: SeriesExpander;
  /** The OpenTelemetry instruments every part records into (exported as G2K_METRICS_EXPORTER says). */
  metrics: Metrics;
  /** What the functions leave in the state store for `graph2kafka status`. */
  health: HealthReporter;
  /** The dead-letter topic, for the ops CLI (list, replay). */
  deadLetters(): DeadLetters;
  /** What each feature adds to the timer's run and to the status report, in their order. */
  features: Feature[];
  /**
   * Resolves once this instance's background work is done: the drains a POST started after its answer (lifecycle
   * actions, repairs, series expansions). For tests and tools that must see an action's effect.
   */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** How long closing an instance waits for its background drains. */
const CLOSE_WAIT_MS = 10_000;

export interface AppOverrides {
  logger?: Logger;
  /** The state store instead of G2K_STATE_STORE's. */
  documents?: DocumentStore;
  tokens?: TokenSource;
  sink?: RecordSink;
  /** Graph's clock for subscription decisions (graph-sim's simulated clock in tests). */
  graphNow?: () => number;
  /** Where metrics go instead of G2K_METRICS_EXPORTER's choice (a test's in-memory reader). */
  meterProvider?: MeterProvider;
  /** The platform's exporters (the adapters': Azure Monitor, Google Cloud), loaded on their first export. */
  metricExporters?: ExporterFactories;
  /** Resource attributes of the exported metrics (the platform's service and instance names). */
  metricResource?: Record<string, string>;
}

/** Wires the receive path from a checked configuration. One per function instance, reused across invocations. */
export function createApp(config: Config, overrides: AppOverrides = {}): Graph2Kafka {
  const logger = overrides.logger ?? jsonLogger;
  const telemetry = overrides.meterProvider
    ? { provider: overrides.meterProvider, shutdown: () => Promise.resolve() }
    : metricsProvider(config.operations, overrides.metricExporters ?? {}, logger, overrides.metricResource);
  // One credential for Table Storage and Event Hubs alike, made only when one of them needs it.
  let credential: TokenCredential | undefined;
  const azure = (): TokenCredential => (credential ??= azureCredential(config.azure));
  const documents = overrides.documents ?? openDocumentStore(config.stateStore, azure);
  const subscriptions = new CachedSubscriptions(documents);
  const health = new HealthReporter(documents, config.operations.healthWindowMs, logger);
  const metrics = new Metrics(telemetry.provider, health);
  const graph = new GraphClient(
    config.graph,
    overrides.tokens ?? new IdentityTokenSource(config.graph, { logger, metrics }),
    metrics,
  );
  const fetcher = new EventFetcher(graph, {
    maxInFlight: config.graph.batchConcurrency,
    lingerMs: config.graph.batchLingerMs,
    logger,
    coverage: desiredCoverage(config.subscriptions?.desired ?? []),
    metrics,
  });
  const sasl = kafkaSasl(config.kafka, config.graph, { azureCredential: azure });
  const letterSigner = config.deadLetterKeys ? new LetterSigner(config.deadLetterKeys) : undefined;
  const sink = overrides.sink ?? new KafkaRecordSink(config.kafka, logger, sasl, metrics);
  const router = new TopicRouter(config.topics, config.topicTemplate);
  const encoder = new RecordEncoder({
    format: VALUE_FORMAT_WRITERS[config.valueFormat],
    cloudEvents: config.cloudEvents,
    appId: config.graph.clientId,
  });
  const events = new EventProducer({
    sink,
    router,
    encoder,
    maxRecordBytes: config.kafka.maxRecordBytes,
    logger,
    metrics,
    fence: new BatchingKeyFence(documents.keyFence()),
    ...(letterSigner ? { letterSigner } : {}),
  });
  // One queue of background drains per instance: repairs and series expansions take turns.
  const work = new BackgroundWork(logger);
  const series = new SeriesExpander({
    work,
    store: documents,
    subscriptions,
    graph,
    events,
    logger,
    metrics,
    ...(overrides.graphNow ? { now: overrides.graphNow } : {}),
  });
  const repairer = new Repairer({
    work,
    store: documents,
    fetcher,
    events,
    logger,
    maxEntries: config.repairQueueMax,
    metrics,
  });
  // The emit path's follow-ups: keys that may have lost a race are read again through the repair queue; produced
  // records owe their repairs (unenriched) and their series' expansion (masters).
  events.onReread((units, reason) => repairer.reread(units, reason));
  events.onProduced((units) => repairer.followUp(units));
  events.onProduced((units) => series.followUp(units));
  const settings = config.subscriptions;
  const manager = settings
    ? new SubscriptionManager({
        config,
        settings,
        api: new SubscriptionApi(graph, settings.limits),
        store: subscriptions,
        documents,
        work,
        resyncer: new Resyncer({
          graph,
          store: documents,
          events,
          settings,
          logger,
          complete: (tenantId, kind, target, outcome, deadline) =>
            fetcher.complete(tenantId, kind, target, outcome, deadline),
          read: (tenantId, kind, target, itemId, select, deadline) =>
            fetcher.fetchItem(tenantId, kind, target, itemId, select, deadline),
          metrics,
          ...(overrides.graphNow ? { now: overrides.graphNow } : {}),
        }),
        modes: { basic: basicMode, ...(config.rich ? { rich: richMode(config.rich) } : {}) },
        logger,
        ...(overrides.graphNow ? { now: overrides.graphNow } : {}),
      })
    : undefined;
  const tokenClaims = new TokenClaims(documents);
  const keyFetch = config.rich && config.graph.caPem ? trustingFetch(config.graph.caPem) : undefined;
  const rich = config.rich
    ? new RichOpener({
        rich: config.rich,
        verifier: new ValidationTokenVerifier({
          jwksUrl: config.rich.jwksUrl,
          appIds: [config.graph.clientId],
          authorityHost: config.graph.authorityHost,
          ...(keyFetch ? { fetch: keyFetch.fetch } : {}),
          claim: (hash, expiresAtMs) => tokenClaims.claim(hash, new Date(expiresAtMs).toISOString()),
        }),
        logger,
        metrics,
      })
    : undefined;
  const receiver = new NotificationReceiver({
    config,
    router,
    encoder,
    store: subscriptions,
    fetcher,
    sink,
    events,
    repairer,
    ...(rich ? { rich } : {}),
    logger,
    metrics,
    ...(manager ? { lifecycle: (n, sub, deadline) => manager.lifecycle.record(n, sub, deadline) } : {}),
  });
  const deadLetters = (): DeadLetters =>
    new DeadLetters({
      kafka: kafkaClient(config.kafka, sasl),
      // With per-tenant topics, every accepted tenant's: no other tenant's change can have been written.
      topics: router.topicsOf('deadLetter', config.allowedTenants),
      fetcher,
      events,
      signer: letterSigner,
      check: () =>
        new LetterCheck({
          store: subscriptions,
          allowedTenants: config.allowedTenants,
          desired: config.subscriptions?.desired,
        }),
      logger,
    });
  return {
    config,
    receiver,
    manager,
    documents,
    subscriptions,
    fetcher,
    graph,
    repairer,
    series,
    metrics,
    health,
    deadLetters,
    features: [
      repairFeature(repairer, documents),
      seriesFeature(series, documents),
      ...(config.rich ? [richFeature(config.rich, tokenClaims, subscriptions)] : []),
      fenceFeature(documents.keyFence()),
      roundsFeature(documents, config.subscriptions?.sweepHours ?? 0),
      deadLetterFeature(deadLetters),
      ...(manager ? [lifecycleFeature(manager.lifecycle)] : []),
    ],
    idle: () => work.idle(),
    async close() {
      // Drains a POST started (a lifecycle action, repairs) finish first, or are cut short: they resume from the
      // state store on the next instance or timer run.
      await waitAtMost(work.idle(), CLOSE_WAIT_MS);
      // Metrics first: their last export must still see the instance's counts.
      await Promise.all([telemetry.shutdown(), health.flush()]);
      await Promise.all([sink.close(), graph.close(), documents.close?.(), keyFetch?.close()]);
    },
  };
}

/** Configuration from the environment (secret references resolved through `secrets`), then the app. */
export async function createAppFromEnv(
  env: Record<string, string | undefined>,
  secrets: SecretSource[] = [],
  overrides: AppOverrides = {},
): Promise<Graph2Kafka> {
  return createApp(await loadConfig(env, secrets), overrides);
}
