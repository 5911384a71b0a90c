import { randomUUID } from 'node:crypto';
import type { Graph2Kafka, SecretSource } from '@graph2kafka/core';
import { lazy } from '@graph2kafka/core/http';
import { requestLogs, projectOf } from './logging.ts';
import { googleCloudExporter } from './metrics-exporter.ts';

let loader: (() => Promise<Graph2Kafka>) | undefined;

/** `k=v,k=v` (OpenTelemetry's OTEL_RESOURCE_ATTRIBUTES, values percent-encoded), as the deploy sets it. */
function standardAttributes(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      out[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // A malformed escape: the attribute is left out rather than the app failing to start.
    }
  }
  return out;
}

/**
 * The OpenTelemetry resource of this instance: Cloud Monitoring keeps one series per instance, and files it under
 * the region (`cloud.region`, from OTEL_RESOURCE_ATTRIBUTES) and the service (`service.name`).
 */
function resourceOf(env: Record<string, string | undefined>): Record<string, string> {
  const project = projectOf(env);
  return {
    ...standardAttributes(env.OTEL_RESOURCE_ATTRIBUTES),
    'service.name': env.K_SERVICE ?? 'graph2kafka',
    'service.instance.id': randomUUID(),
    'cloud.provider': 'gcp',
    'cloud.platform': 'gcp_cloud_run',
    ...(env.K_REVISION ? { 'faas.version': env.K_REVISION } : {}),
    ...(project ? { 'gcp.project_id': project } : {}),
  };
}

/**
 * The app of this function instance, built once from the environment and reused across invocations. Secret
 * Manager is only loaded when a setting refers to it (`sm:…`), to keep cold starts short. A failed load is
 * forgotten, so the next request tries again (a secret may have been granted meanwhile).
 */
export function appFromEnv(env: Record<string, string | undefined> = process.env): Promise<Graph2Kafka> {
  loader ??= lazy(() => load(env));
  return loader();
}

async function load(env: Record<string, string | undefined>): Promise<Graph2Kafka> {
  const { createAppFromEnv, GoogleSecretManagerSource } = await import('@graph2kafka/core');
  const secrets: SecretSource[] = Object.values(env).some((v) => v?.startsWith('sm:'))
    ? [await GoogleSecretManagerSource.create()]
    : [];
  return createAppFromEnv(env, secrets, {
    logger: requestLogs.logger,
    metricExporters: { 'google-cloud': googleCloudExporter() },
    metricResource: resourceOf(env),
  });
}
