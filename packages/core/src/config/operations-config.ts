import { shown, type EnvReader } from './env-reader.ts';

export const METRICS_EXPORTERS = ['none', 'console', 'azure-monitor', 'google-cloud'] as const;
export type MetricsExporterName = (typeof METRICS_EXPORTERS)[number];

/** What an operator sees: where metrics go, and how often each instance reports its answers to the store. */
export interface OperationsSettings {
  metricsExporter: MetricsExporterName;
  metricsIntervalMs: number;
  /** Azure Monitor's connection string (Application Insights); only with the azure-monitor exporter. */
  azureMonitorConnectionString: string | undefined;
  /** The Google Cloud project metrics go to; absent: the runtime's own. */
  gcpProject: string | undefined;
  healthWindowMs: number;
}

export async function readOperations(r: EnvReader): Promise<OperationsSettings> {
  const raw = r.env.G2K_METRICS_EXPORTER?.trim().toLowerCase() || 'none';
  const metricsExporter = (METRICS_EXPORTERS as readonly string[]).includes(raw)
    ? (raw as MetricsExporterName)
    : undefined;
  if (!metricsExporter)
    r.problems.push(`G2K_METRICS_EXPORTER must be one of ${METRICS_EXPORTERS.join(', ')}, got ${shown(raw)}.`);
  const azureMonitorConnectionString =
    metricsExporter === 'azure-monitor' ? await r.secret('APPLICATIONINSIGHTS_CONNECTION_STRING', true) : undefined;
  return {
    metricsExporter: metricsExporter ?? 'none',
    metricsIntervalMs: r.int('G2K_METRICS_INTERVAL_MS', 60_000, 5_000, 600_000),
    azureMonitorConnectionString: azureMonitorConnectionString || undefined,
    gcpProject: r.env.G2K_GCP_PROJECT?.trim() || undefined,
    healthWindowMs: r.int('G2K_HEALTH_WINDOW_SECONDS', 60, 10, 3_600) * 1_000,
  };
}
