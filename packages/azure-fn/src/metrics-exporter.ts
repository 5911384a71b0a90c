import type { AzureMonitorExporterOptions } from '@azure/monitor-opentelemetry-exporter';
import type { ExporterFactory, OperationsSettings } from '@graph2kafka/core';

/**
 * Azure Monitor (Application Insights) through Microsoft's OpenTelemetry exporter, to the resource the
 * connection string names; loaded on the first export. Counters go as deltas, as Azure Monitor expects.
 */
export function azureMonitorExporter(options: AzureMonitorExporterOptions = {}): ExporterFactory {
  return {
    temporality: 'delta',
    async load(settings: OperationsSettings) {
      const { AzureMonitorMetricExporter } = await import('@azure/monitor-opentelemetry-exporter');
      return new AzureMonitorMetricExporter({ ...options, connectionString: settings.azureMonitorConnectionString });
    },
  };
}
