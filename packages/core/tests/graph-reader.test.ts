import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphClient } from '../src/graph/graph-client.ts';
import { judgeNotFound } from '../src/graph/gone-rule.ts';
import { graphPages, graphRequest } from '../src/graph/graph-reader.ts';
import { KINDS } from '../src/kinds/index.ts';

type Answer = { status: number; headers?: Record<string, string>; body?: unknown };

/** A local HTTP server answering each request with the next scripted answer (the last one repeats). */
class ScriptedGraph {
  readonly seen: Array<{ at: number; url: string }> = [];
  private server!: Server;
  private script: Array<(req: IncomingMessage) => Answer> = [];

  async start(): Promise<string> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.seen.push({ at: Date.now(), url: req.url ?? '' });
      const next = this.script.length > 1 ? this.script.shift()! : this.script[0]!;
      const answer = next(req);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1.0`;
  }

  answer(...answers: Array<Answer | ((req: IncomingMessage) => Answer)>): void {
    this.script = answers.map((a) => (typeof a === 'function' ? a : () => a));
    this.seen.length = 0;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const TENANT = 'tenant-1';
const throttled = (seconds: number): Answer => ({
  status: 429,
  headers: { 'retry-after': String(seconds) },
  body: { error: { code: 'TooManyRequests' } },
});

describe('graph reader', () => {
  const scripted = new ScriptedGraph();
  let graph: GraphClient;
  let base: string;

  beforeAll(async () => {
    base = await scripted.start();
    graph = new GraphClient(
      {
        baseUrl: base,
        authorityHost: base,
        homeTenantId: TENANT,
        clientId: 'app',
        clientSecret: 'secret',
        caPem: undefined,
        batchConcurrency: 1,
        batchLingerMs: 0,
      },
      { token: () => Promise.resolve('token'), invalidate: () => undefined },
    );
  });

  afterAll(async () => {
    await graph.close();
    await scripted.stop();
  });

  it('waits as long as Retry-After says, then returns the answer', async () => {
    scripted.answer(throttled(1), { status: 200, body: { id: 'a' } });
    const started = Date.now();
    const throttles: number[] = [];
    const res = await graphRequest(graph, TENANT, '/users/u/events/a', {
      deadline: Date.now() + 10_000,
      maxAttempts: 4,
      onThrottled: (ms) => throttles.push(ms),
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: 'a' });
    expect(scripted.seen).toHaveLength(2);
    expect(scripted.seen[1]!.at - scripted.seen[0]!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(throttles).toEqual([1_000]);
  });

  it('does not wait past the deadline: the throttled answer comes back at once', async () => {
    scripted.answer(throttled(30), { status: 200, body: { id: 'a' } });
    const started = Date.now();
    const res = await graphRequest(graph, TENANT, '/users/u/events/a', {
      deadline: Date.now() + 2_000,
      maxAttempts: 4,
    });
    expect(res.status).toBe(429);
    expect(scripted.seen).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('stops after its attempts, returning the last answer', async () => {
    scripted.answer({ status: 503, headers: { 'retry-after': '0' } });
    const res = await graphRequest(graph, TENANT, '/users/u/events/a', {
      deadline: Date.now() + 10_000,
      maxAttempts: 3,
    });
    expect(res.status).toBe(503);
    expect(scripted.seen).toHaveLength(3);
  });

  it('does not try again what Graph will not answer differently', async () => {
    scripted.answer({ status: 403, body: { error: { code: 'ErrorAccessDenied' } } });
    const res = await graphRequest(graph, TENANT, '/users/u/events/a', { deadline: Infinity, maxAttempts: 5 });
    expect(res.status).toBe(403);
    expect(scripted.seen).toHaveLength(1);
  });

  it('follows nextLink page by page, retrying a throttled page', async () => {
    scripted.answer(
      (req) => ({
        status: 200,
        body: { value: [{ id: '1' }], '@odata.nextLink': `http://${req.headers.host}/v1.0/things?page=2` },
      }),
      throttled(0),
      { status: 200, body: { value: [{ id: '2' }] } },
    );
    const ids: string[] = [];
    for await (const res of graphPages(graph, TENANT, '/things', { deadline: Date.now() + 5_000, maxAttempts: 3 })) {
      expect(res.status).toBe(200);
      ids.push(...(res.body as { value: Array<{ id: string }> }).value.map((v) => v.id));
    }
    expect(ids).toEqual(['1', '2']);
    expect(scripted.seen.map((s) => s.url)).toEqual(['/v1.0/things', '/v1.0/things?page=2', '/v1.0/things?page=2']);
  });

  it('ends the pages at an answer that is not a page, for the caller to judge', async () => {
    scripted.answer({ status: 404, body: { error: { code: 'ErrorItemNotFound' } } });
    const statuses: number[] = [];
    for await (const res of graphPages(graph, TENANT, '/things', { deadline: Infinity, maxAttempts: 3 }))
      statuses.push(res.status);
    expect(statuses).toEqual([404]);
  });
});

describe('gone rule', () => {
  const notFound = (code: string) => ({ status: 404, body: { error: { code } } });

  it("is gone only on a 404 with one of the kind's gone codes", () => {
    expect(judgeNotFound(notFound('ErrorItemNotFound'), KINDS.events.goneCodes)).toBe('gone');
    expect(judgeNotFound(notFound('Request_ResourceNotFound'), KINDS.users.goneCodes)).toBe('gone');
  });

  it('leaves the item be when the mailbox, not the item, is missing', () => {
    expect(judgeNotFound(notFound('ErrorInvalidUser'), KINDS.events.goneCodes)).toBe('unreachable');
    expect(judgeNotFound(notFound('MailboxNotEnabledForRESTAPI'), KINDS.messages.goneCodes)).toBe('unreachable');
    expect(judgeNotFound({ status: 404 }, KINDS.events.goneCodes)).toBe('unreachable');
  });

  it('has nothing to say of other answers', () => {
    expect(judgeNotFound({ status: 200, body: {} }, KINDS.events.goneCodes)).toBeUndefined();
    expect(judgeNotFound({ status: 410, body: {} }, KINDS.events.goneCodes)).toBeUndefined();
  });
});
