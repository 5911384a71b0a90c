import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metrics, metricsProvider, silentLogger, type OperationsSettings } from '@graph2kafka/core';
import { googleCloudExporter } from '../src/metrics-exporter.ts';

describe('Google Cloud metrics exporter (OTLP to the Telemetry API)', () => {
  it('posts OTLP protobuf with the service account’s bearer token and the project to bill', async () => {
    const received: Array<{ path: string; headers: IncomingMessage['headers']; body: Buffer }> = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`;
    let tokens = 0;
    const auth = {
      getRequestHeaders: () => Promise.resolve(new Headers({ authorization: `Bearer token-${++tokens}` })),
    };
    const settings: OperationsSettings = {
      metricsExporter: 'google-cloud',
      metricsIntervalMs: 3_600_000,
      azureMonitorConnectionString: undefined,
      gcpProject: 'contoso-prod',
      healthWindowMs: 60_000,
    };
    const telemetry = metricsProvider(settings, { 'google-cloud': googleCloudExporter({ url, auth }) }, silentLogger, {
      'gcp.project_id': 'contoso-prod',
    });
    try {
      const metrics = new Metrics(telemetry.provider);
      metrics.item('rejected', 'client_state_mismatch');
      metrics.answered(202, 40);
      await telemetry.provider.forceFlush();
      metrics.item('produced');
      await telemetry.provider.forceFlush();
      expect(received).toHaveLength(2);
      for (const r of received) {
        expect(r.path).toBe('/v1/metrics');
        expect(r.headers['content-type']).toBe('application/x-protobuf');
        expect(r.headers['x-goog-user-project']).toBe('contoso-prod');
        // Protobuf keeps strings as they are: the metric names and attribute values are in the body.
        expect(r.body.includes('g2k.notifications')).toBe(true);
        expect(r.body.includes('contoso-prod')).toBe(true);
      }
      // A fresh token per export: Google's access tokens last an hour, an instance may live longer.
      expect(received.map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
      expect(received[0]!.body.includes('client_state_mismatch')).toBe(true);
    } finally {
      await telemetry.shutdown();
      await new Promise((r) => server.close(r));
    }
  });
});
