import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Logger } from '../logger.ts';

/** `name{a=x,b=y}`: one series, as the line exporter and `pnpm dev` show it. */
export function seriesName(name: string, attributes: Record<string, unknown>): string {
  const labels = Object.entries(attributes)
    .map(([k, v]) => `${k}=${String(v)}`)
    .sort();
  return labels.length ? `${name}{${labels.join(',')}}` : name;
}

/**
 * Every series of an export as one flat object: sums and gauges by value, histograms as count and mean. What
 * the `console` exporter logs and what tests compare; small enough to read in a terminal.
 */
export function flatten(metrics: ResourceMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const scope of metrics.scopeMetrics)
    for (const metric of scope.metrics)
      for (const point of metric.dataPoints) {
        const name = seriesName(metric.descriptor.name, point.attributes);
        if (metric.dataPointType === DataPointType.HISTOGRAM) {
          const h = point.value as { count: number; sum?: number };
          out[`${name}.count`] = h.count;
          if (h.count && h.sum !== undefined) out[`${name}.mean`] = Math.round((h.sum / h.count) * 10) / 10;
        } else if (typeof point.value === 'number') out[name] = point.value;
      }
  return out;
}

/** The `console` exporter: one structured log line per export, cumulative values. */
export function lineExporter(logger: Logger): PushMetricExporter {
  return {
    export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
      logger.info('metrics', { metrics: flatten(metrics) });
      done({ code: ExportResultCode.SUCCESS });
    },
    selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}
