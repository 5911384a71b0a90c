import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';

type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * Stands in for the Functions host (which cannot be installed here): turns each HTTP request graph-sim sends
 * into `@azure/functions`' own HttpRequest and InvocationContext, calls the handler, and writes its answer.
 */
export async function serveAzureHandler(
  name: string,
  handler: Handler,
): Promise<{ url: string; logs: string[]; server: Server }> {
  const logs: string[] = [];
  let invocation = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const body = Buffer.concat(chunks);
      const request = new HttpRequest({
        method: req.method ?? 'POST',
        url: `http://127.0.0.1${req.url ?? '/'}`,
        headers,
        ...(body.length ? { body: { bytes: body } } : {}),
      });
      const context = new InvocationContext({
        invocationId: `inv-${++invocation}`,
        functionName: name,
        logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
      });
      handler(request, context).then(
        (answer) => {
          res.writeHead(answer.status ?? 200, answer.headers as Record<string, string>);
          res.end(typeof answer.body === 'string' ? answer.body : undefined);
        },
        (err: unknown) => {
          logs.push(`crash: ${String(err)}`);
          res.writeHead(500);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/${name}`, logs, server };
}
