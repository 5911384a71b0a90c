import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Graph2Kafka } from '@graph2kafka/core';

/** The app's receiver on loopback HTTP (`/notifications`, `/lifecycle`): an adapter for core-level tests. */
export async function serveApp(
  app: Graph2Kafka,
  port = 0,
): Promise<{ notificationUrl: string; lifecycleUrl: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const body = Buffer.concat(chunks);
      const request = {
        method: req.method ?? 'POST',
        query: url.searchParams,
        headers,
        body: body.length ? body : undefined,
        receivedAt: Date.now(),
      };
      const handle = url.pathname.startsWith('/lifecycle')
        ? app.receiver.handleLifecycle(request)
        : app.receiver.handleNotifications(request);
      handle.then(
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
