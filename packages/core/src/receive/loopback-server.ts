import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../logger.ts';
import { readLimited } from '../model/http.ts';
import { graphWebhook, type WebhookApp } from './webhook.ts';

/**
 * The app's webhook on loopback HTTP (`/notifications`, `/lifecycle`): the plainest adapter, for core-level tests,
 * benches and local tools. Not a production entry: it has neither adapter's wire guard nor its memory admission.
 */
export async function serveApp(
  app: WebhookApp,
  port = 0,
): Promise<{ notificationUrl: string; lifecycleUrl: string; close(): Promise<void> }> {
  const webhook = graphWebhook(() => Promise.resolve(app), silentLogger);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    webhook({
      method: req.method ?? 'POST',
      query: url.searchParams,
      headers,
      readBody: (limit) => readLimited(req, limit),
      receivedAt: Date.now(),
    }).then(
      (answer) => {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    notificationUrl: `${base}/notifications`,
    lifecycleUrl: `${base}/lifecycle`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
