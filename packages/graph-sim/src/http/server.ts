import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { guid } from '../ids.ts';
import type { TlsMaterial } from '../tls.ts';
import type { SimRequest, SimResponse } from '../types.ts';

/** Larger bodies get 413 before anything parses them. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export type RequestHandler = (req: SimRequest) => Promise<SimResponse>;

export async function startHttpsServer(
  tls: TlsMaterial,
  host: string,
  port: number,
  handle: RequestHandler,
): Promise<{ server: Server; port: number }> {
  const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    void serve(req, res, handle);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

async function serve(req: IncomingMessage, res: ServerResponse, handle: RequestHandler): Promise<void> {
  const requestId = guid();
  try {
    const body = await readBody(req);
    if (body === undefined) {
      write(
        res,
        {
          status: 413,
          headers: { 'Content-Type': 'application/json' },
          body: {
            error: {
              code: 'RequestEntityTooLarge',
              message: `Request bodies over ${MAX_BODY_BYTES} bytes are refused.`,
            },
          },
        },
        requestId,
      );
      return;
    }
    const url = new URL(req.url ?? '/', 'https://graph-sim.localhost');
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const response = await handle({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      body,
      requestId,
    });
    write(res, response, requestId);
  } catch (err) {
    // A handler bug must still produce an answer, never a hung socket or a crashed simulator.
    write(
      res,
      {
        status: 500,
        headers: { 'Content-Type': 'application/json' },
        body: {
          error: { code: 'InternalServerError', message: `graph-sim internal error: ${(err as Error).message}` },
        },
      },
      requestId,
    );
  }
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function write(res: ServerResponse, response: SimResponse, requestId: string): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { 'request-id': requestId, ...response.headers };
  let payload: string | Buffer | undefined;
  if (response.body !== undefined) {
    payload =
      typeof response.body === 'string' || Buffer.isBuffer(response.body)
        ? response.body
        : JSON.stringify(response.body);
    headers['Content-Type'] ??= 'application/json; charset=utf-8';
  }
  res.writeHead(response.status, headers);
  res.end(payload);
}
