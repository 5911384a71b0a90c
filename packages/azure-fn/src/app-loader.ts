import type { Graph2Kafka } from '@graph2kafka/core';
import { lazy } from '@graph2kafka/core/http';
import { requestLogs } from './logging.ts';
import { azureMonitorExporter } from './metrics-exporter.ts';

export type AppProvider = () => Promise<Graph2Kafka>;

/**
 * The app of this Functions host, built once and reused. Key Vault references in app settings are resolved by
 * the platform before the process starts, so settings are read as plain environment values. A failed load is
 * forgotten, so the next request tries again.
 */
export function appFromEnv(env: Record<string, string | undefined> = process.env): Promise<Graph2Kafka> {
  loader ??= lazy(() => load(env));
  return loader();
}

let loader: (() => Promise<Graph2Kafka>) | undefined;

async function load(env: Record<string, string | undefined>): Promise<Graph2Kafka> {
  const { createAppFromEnv } = await import('@graph2kafka/core');
  return createAppFromEnv(env, [], {
    logger: requestLogs.logger,
    metricExporters: { 'azure-monitor': azureMonitorExporter() },
    metricResource: {
      'service.name': env.WEBSITE_SITE_NAME ?? 'graph2kafka',
      ...(env.WEBSITE_INSTANCE_ID ? { 'service.instance.id': env.WEBSITE_INSTANCE_ID } : {}),
      'cloud.provider': 'azure',
      'cloud.platform': 'azure_functions',
    },
  });
}
