import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Metrics, metricsProvider, silentLogger, type OperationsSettings } from '@graph2kafka/core';
import { makeTlsMaterial } from '@graph2kafka/graph-sim';
import type { PipelineRequest, SendRequest } from '@azure/core-rest-pipeline';
import { azureMonitorExporter } from '../src/metrics-exporter.ts';

interface Envelope {
  iKey: string;
  data: { baseData: { metrics: Array<{ name: string; value: number }>; properties: Record<string, string> } };
}

interface Received {
  path: string;
  body: string;
}

/** Application Insights' ingestion endpoint, as far as the exporter can tell: it accepts whatever is tracked. */
async function ingestion(): Promise<{ url: string; ca: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  // HTTPS, as the exporter insists on (it rewrites an http:// endpoint to https://).
  const tls = await makeTlsMaterial();
  const server = https.createServer(
    { key: tls.keyPem, cert: tls.certPem },
    (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        received.push({ path: req.url ?? '', body: body.toString('utf8') });
        const items = (JSON.parse(body.toString('utf8')) as unknown[]).length;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ itemsReceived: items, itemsAccepted: items, errors: [] }));
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    ca: tls.certPem,
    received,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('Azure Monitor metrics exporter', () => {
  // As deployed (infra/azure/main.tf): the exporter's own telemetry to Microsoft off. Left on, it would start
  // timers of its own that outlive the test.
  const OFF = [
    'APPLICATION_INSIGHTS_NO_STATSBEAT',
    'APPLICATIONINSIGHTS_STATSBEAT_DISABLED',
    'APPLICATIONINSIGHTS_SDKSTATS_DISABLED',
  ];
  beforeAll(() => OFF.forEach((name) => (process.env[name] = 'true')));
  afterAll(() => OFF.forEach((name) => delete process.env[name]));

  it('sends the app’s metrics to the Application Insights resource of the connection string, as deltas', async () => {
    const sink = await ingestion();
    const settings: OperationsSettings = {
      metricsExporter: 'azure-monitor',
      metricsIntervalMs: 3_600_000,
      azureMonitorConnectionString: `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=${sink.url}`,
      gcpProject: undefined,
      healthWindowMs: 60_000,
    };
    // The test's CA, trusted for this client only.
    const trustTestCa = {
      name: 'trustTestCa',
      sendRequest: (request: PipelineRequest, next: SendRequest) => {
        request.tlsSettings = { ca: sink.ca };
        return next(request);
      },
    };
    const exporter = azureMonitorExporter({ additionalPolicies: [{ policy: trustTestCa, position: 'perCall' }] });
    const telemetry = metricsProvider(settings, { 'azure-monitor': exporter }, silentLogger);
    const metrics = new Metrics(telemetry.provider);
    try {
      metrics.item('produced');
      metrics.item('produced');
      metrics.answered(202, 120);
      await telemetry.provider.forceFlush();
      const tracked = sink.received.filter((r) => r.path.startsWith('/v2.1/track'));
      expect(tracked.length).toBeGreaterThan(0);
      const lines = tracked.flatMap((r) => JSON.parse(r.body) as Envelope[]);
      expect(lines.every((l) => l.iKey === '00000000-0000-0000-0000-000000000001')).toBe(true);
      // Application Insights' customMetrics: the name, the value, the attributes as custom dimensions.
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            data: expect.objectContaining({
              baseData: expect.objectContaining({
                metrics: [expect.objectContaining({ name: 'g2k.notifications', value: 2 })],
                properties: { outcome: 'produced' },
              }),
            }),
          }),
        ]),
      );
      // A delta: the next export carries only what happened since.
      metrics.item('produced');
      sink.received.length = 0;
      await telemetry.provider.forceFlush();
      const next = sink.received
        .flatMap((r) => JSON.parse(r.body) as Envelope[])
        .flatMap((l) => l.data.baseData.metrics)
        .filter((p) => p.name === 'g2k.notifications');
      expect(next.map((p) => p.value)).toEqual([1]);
    } finally {
      await telemetry.shutdown();
      await sink.close();
    }
  });
});
