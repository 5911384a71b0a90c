import type { ExporterFactory, OperationsSettings } from '@graph2kafka/core';

/** Google's OTLP endpoint (the Telemetry API), which writes metrics into Cloud Monitoring. */
export const GOOGLE_OTLP_METRICS_URL = 'https://telemetry.googleapis.com/v1/metrics';

/** What the exporter needs of google-auth-library: fresh request headers (Authorization) for each export. */
export interface RequestHeaderSource {
  getRequestHeaders(): Promise<Headers | Record<string, string>>;
}

/**
 * Cloud Monitoring through Google's OTLP endpoint, as Google now recommends for SDKs (its older
 * opentelemetry-cloud-monitoring-exporter is deprecated): OTLP over HTTP/protobuf, authenticated with the
 * runtime service account's access token (Application Default Credentials, refreshed per export).
 */
export function googleCloudExporter(options: { url?: string; auth?: RequestHeaderSource } = {}): ExporterFactory {
  return {
    temporality: 'cumulative',
    async load(settings: OperationsSettings) {
      const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-proto');
      const auth =
        options.auth ??
        new (await import('google-auth-library')).GoogleAuth({
          scopes: ['https://www.googleapis.com/auth/cloud-platform'],
        });
      return new OTLPMetricExporter({
        url: options.url ?? process.env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? GOOGLE_OTLP_METRICS_URL,
        headers: async () => {
          const raw = await auth.getRequestHeaders();
          const headers: Record<string, string> =
            raw instanceof Headers ? Object.fromEntries(raw.entries()) : { ...raw };
          if (settings.gcpProject) headers['x-goog-user-project'] = settings.gcpProject;
          return headers;
        },
      });
    },
  };
}
