import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { GraphSim, type GraphSimInput } from '../src/index.ts';

export interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** An HTTPS call to the simulator that trusts its self-signed certificate. */
export function call(
  sim: GraphSim,
  method: string,
  path: string,
  opts: { token?: string; headers?: Record<string, string>; json?: unknown; raw?: string } = {},
): Promise<CallResult> {
  const url = new URL(path.startsWith('http') ? path : `${sim.urls.base}${path}`);
  const payload = opts.raw ?? (opts.json !== undefined ? JSON.stringify(opts.json) : undefined);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) headers['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca: sim.caCertPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export async function getToken(
  sim: GraphSim,
  clientId = sim.defaults.clientId,
  secret = sim.defaults.clientSecret,
  tenant = sim.defaults.tenantId,
): Promise<string> {
  const res = await call(sim, 'POST', `/${tenant}/oauth2/v2.0/token`, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    raw: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
      scope: 'https://graph.microsoft.com/.default',
    }).toString(),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
  return (res.body as { access_token: string }).access_token;
}

export interface Received {
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export type Reply = { status: number; body?: string; contentType?: string; delayMs?: number };

/** The default webhook: answers the handshake correctly and accepts notifications with 202. */
export const correctReply = (r: Received): Reply => {
  const token = r.query.get('validationToken');
  if (token !== null) return { status: 200, body: token, contentType: 'text/plain' };
  return { status: 202 };
};

/** A webhook endpoint on loopback http that records everything and answers as the test says. */
export class Receiver {
  readonly received: Received[] = [];
  reply: (r: Received) => Reply = correctReply;
  private server!: Server;
  url = '';

  static async start(path = '/notify'): Promise<Receiver> {
    const receiver = new Receiver();
    receiver.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        const record: Received = {
          query: new URL(req.url ?? '/', 'http://x').searchParams,
          headers: req.headers,
          text,
          body,
        };
        receiver.received.push(record);
        const reply = receiver.reply(record);
        const send = (): void => {
          if (res.destroyed) return;
          res.writeHead(reply.status, reply.contentType ? { 'Content-Type': reply.contentType } : {});
          res.end(reply.body);
        };
        if (reply.delayMs) setTimeout(send, reply.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}${path}`;
    return receiver;
  }

  handshakes(): Received[] {
    return this.received.filter((r) => r.query.has('validationToken'));
  }

  posts(): Received[] {
    return this.received.filter((r) => !r.query.has('validationToken'));
  }

  /** Every notification received, flattened across POSTs. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  notifications(): any[] {
    return this.posts().flatMap((r) => (r.body as { value: unknown[] }).value);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export async function startSim(input: GraphSimInput = {}): Promise<GraphSim> {
  return GraphSim.start({ ...input, delivery: { batchWindowMs: 20, ...input.delivery } });
}

export function futureIso(minutes: number, sim: GraphSim): string {
  return new Date(sim.clock.now() + minutes * 60_000).toISOString();
}

/** Creates a subscription for a user's events through the real Graph API and returns its JSON. */
export async function subscribe(
  sim: GraphSim,
  token: string,
  receiver: Receiver,
  opts: {
    userId?: string;
    changeType?: string;
    lifecycle?: boolean;
    clientState?: string;
    immutable?: boolean;
    minutes?: number;
    /** Default: the mailbox's `/users/{id}/events`. */
    resource?: string;
  } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<any> {
  const userId = opts.userId ?? sim.defaults.users[0]!.id;
  const res = await call(sim, 'POST', '/v1.0/subscriptions', {
    token,
    headers: opts.immutable === false ? {} : { Prefer: 'IdType="ImmutableId"' },
    json: {
      changeType: opts.changeType ?? 'created,updated,deleted',
      notificationUrl: receiver.url,
      ...(opts.lifecycle === false ? {} : { lifecycleNotificationUrl: `${receiver.url}?lifecycle=1` }),
      resource: opts.resource ?? `/users/${userId}/events`,
      expirationDateTime: futureIso(opts.minutes ?? 4000, sim),
      clientState: opts.clientState ?? 'secret-client-state',
    },
  });
  if (res.status !== 201) throw new Error(`subscription create failed: ${res.status} ${res.text}`);
  return res.body;
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
