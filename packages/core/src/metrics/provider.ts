import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { MetricsExporterName, OperationsSettings } from '../config/operations-config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { lineExporter } from './line-exporter.ts';

/**
 * A cloud's exporter, as its adapter supplies it: loaded on the first export, not at start, so neither the
 * handshake nor the first notification of a cold instance waits for an SDK it does not need yet.
 */
export interface ExporterFactory {
  load(settings: OperationsSettings): Promise<PushMetricExporter>;
  /** What the backend expects of counters and histograms (Azure Monitor: delta; OTLP to Google: cumulative). */
  temporality: 'delta' | 'cumulative';
}

export type ExporterFactories = Partial<Record<Exclude<MetricsExporterName, 'none' | 'console'>, ExporterFactory>>;

/** The MeterProvider of an app, and how to flush it when the instance ends. */
export interface AppMetricsProvider {
  provider: MeterProvider;
  shutdown(): Promise<void>;
}

/** Stands in for an exporter until its first export loads it; a load that fails is counted as a failed export. */
class DeferredExporter implements PushMetricExporter {
  private loading: Promise<PushMetricExporter> | undefined;
  private readonly factory: ExporterFactory;
  private readonly settings: OperationsSettings;
  private readonly logger: Logger;

  constructor(factory: ExporterFactory, settings: OperationsSettings, logger: Logger) {
    this.factory = factory;
    this.settings = settings;
    this.logger = logger;
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    this.loaded().then(
      (exporter) => exporter.export(metrics, done),
      (err: unknown) => done({ code: ExportResultCode.FAILED, error: err as Error }),
    );
  }

  selectAggregationTemporality(type: InstrumentType): AggregationTemporality {
    if (type === InstrumentType.UP_DOWN_COUNTER || type === InstrumentType.OBSERVABLE_UP_DOWN_COUNTER)
      return AggregationTemporality.CUMULATIVE;
    return this.factory.temporality === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
  }

  async forceFlush(): Promise<void> {
    if (this.loading) await (await this.loading).forceFlush();
  }

  async shutdown(): Promise<void> {
    if (this.loading) await (await this.loading.catch(() => undefined))?.shutdown();
  }

  private loaded(): Promise<PushMetricExporter> {
    this.loading ??= this.factory.load(this.settings).catch((err: unknown) => {
      this.loading = undefined;
      this.logger.error('the metrics exporter could not be loaded; metrics are not exported', {
        exporter: this.settings.metricsExporter,
        error: err instanceof Error ? err.message : String(err),
      });
      throw err;
    });
    return this.loading;
  }
}

/**
 * The MeterProvider for the configured exporter: a periodic reader exports in the background (its timer does
 * not hold the process), so no Graph answer waits for an export; `shutdown` flushes what is left. `none` gives a
 * provider without readers: instruments cost next to nothing and nothing leaves the process.
 */
export function metricsProvider(
  settings: OperationsSettings,
  factories: ExporterFactories,
  logger: Logger,
  resource: Record<string, string> = {},
): AppMetricsProvider {
  const name = settings.metricsExporter;
  let exporter: PushMetricExporter | undefined;
  if (name === 'console') exporter = lineExporter(logger);
  else if (name !== 'none') {
    const factory = factories[name];
    if (!factory)
      throw new ConfigError([
        `G2K_METRICS_EXPORTER=${name} is not available on this platform (${name === 'azure-monitor' ? 'Azure Functions' : 'Google Cloud'} only); use ${Object.keys(factories)[0] ?? 'console'}, console or none.`,
      ]);
    exporter = new DeferredExporter(factory, settings, logger);
  }
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'graph2kafka', ...resource }),
    readers: exporter
      ? [
          new PeriodicExportingMetricReader({
            exporter,
            exportIntervalMillis: settings.metricsIntervalMs,
            exportTimeoutMillis: Math.min(30_000, settings.metricsIntervalMs),
          }),
        ]
      : [],
  });
  return { provider, shutdown: () => provider.shutdown().catch(() => undefined) };
}
