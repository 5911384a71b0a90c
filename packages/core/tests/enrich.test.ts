import { GraphSim } from '@graph2kafka/graph-sim';
import { pipelineEnv } from '@graph2kafka/testkit';
import { KINDS, loadConfig, silentLogger } from '../src/index.ts';
import { EventFetcher } from '../src/graph/event-fetcher.ts';
import { GraphClient } from '../src/graph/graph-client.ts';
import { IdentityTokenSource } from '../src/graph/token-provider.ts';

/** The fetcher as the receiver uses it for an events subscription. */
const readEvent = (fetcher: EventFetcher, tenantId: string, userId: string, eventId: string, deadline: number) =>
  fetcher.fetch(tenantId, KINDS.events, KINDS.events.readPath({ userId }, eventId, undefined), deadline);

describe('enrichment through $batch against graph-sim', () => {
  let sim: GraphSim;
  let fetcher: EventFetcher;
  let graph: GraphClient;
  let user: string;
  beforeAll(async () => {
    sim = await GraphSim.start();
    const config = await loadConfig(pipelineEnv(sim).env);
    graph = new GraphClient(config.graph, new IdentityTokenSource(config.graph));
    fetcher = new EventFetcher(graph, { maxInFlight: 4, logger: silentLogger });
    user = sim.defaults.users[0]!.id;
  });
  afterAll(async () => {
    await graph.close();
    await sim.stop();
  });
  afterEach(() => sim.clearFaults());

  const soon = () => Date.now() + 2_000;

  it('coalesces concurrent reads into shared batches of up to 20', async () => {
    const events = Array.from({ length: 40 }, (_, i) => sim.createEvent(user, { subject: `e${i}` }));
    const before = fetcher.stats.graphRequests;
    sim.records.clear();
    // 40 separate callers, as 40 notification POSTs arriving together.
    const outcomes = await Promise.all(
      events.map((e) => readEvent(fetcher, sim.defaults.tenantId, user, e.immutableId, soon())),
    );
    expect(outcomes.map((o) => (o.kind === 'found' ? o.item.subject : o.kind))).toEqual(events.map((_, i) => `e${i}`));
    expect(fetcher.stats.graphRequests - before).toBe(2);
    expect(sim.records.requests.all().filter((r) => r.batchId)).toHaveLength(40);
    expect(sim.records.requests.all().filter((r) => r.path === '/v1.0/$batch')).toHaveLength(2);
  });

  it('reads an event once for several queued notifications about it', async () => {
    const events = Array.from({ length: 5 }, (_, i) => sim.createEvent(user, { subject: `d${i}` }));
    sim.records.clear();
    const outcomes = await Promise.all(
      [...events, ...events].map((e) => readEvent(fetcher, sim.defaults.tenantId, user, e.immutableId, soon())),
    );
    expect(outcomes.map((o) => (o.kind === 'found' ? o.item.subject : o.kind))).toEqual(
      [...events, ...events].map((e) => e.event.subject),
    );
    expect(sim.records.requests.all().filter((r) => r.batchId)).toHaveLength(5);
  });

  it('retries a throttled item after its Retry-After while its siblings are served', async () => {
    const [a, b] = [sim.createEvent(user, { subject: 'a' }), sim.createEvent(user, { subject: 'b' })];
    sim.addFaultRule({ pathContains: b.immutableId, status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    const [ra, rb] = await Promise.all(
      [a, b].map((e) => readEvent(fetcher, sim.defaults.tenantId, user, e.immutableId, Date.now() + 2_500)),
    );
    expect(ra).toMatchObject({ kind: 'found', item: { subject: 'a' } });
    expect(rb).toMatchObject({ kind: 'found', item: { subject: 'b' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    const bReads = sim.records.requests
      .all()
      .filter((r) => r.batchId && decodeURIComponent(r.path).includes(b.immutableId));
    expect(bReads.slice(-2).map((r) => r.status)).toEqual([429, 200]);
  });

  it('gives up at once when Retry-After would overrun the deadline', async () => {
    const e = sim.createEvent(user, { subject: 'slow' });
    sim.addFaultRule({ pathContains: e.immutableId, status: 429, retryAfterSeconds: 30 });
    const started = Date.now();
    expect(await readEvent(fetcher, sim.defaults.tenantId, user, e.immutableId, Date.now() + 2_000)).toEqual({
      kind: 'failed',
      reason: 'throttled',
    });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('answers each caller by its own deadline when a short read joins a longer one that waits out a 429', async () => {
    const e = sim.createEvent(user, { subject: 'shared' });
    sim.addFaultRule({ pathContains: e.immutableId, status: 429, retryAfterSeconds: 2, count: 1 });
    const started = Date.now();
    // A repair's read (10 s) and, while it is still queued, a notification's read of the same item (1 s).
    const repair = readEvent(fetcher, sim.defaults.tenantId, user, e.immutableId, Date.now() + 10_000);
    const notification = readEvent(fetcher, sim.defaults.tenantId, user, e.immutableId, Date.now() + 1_000);
    expect(await notification).toEqual({ kind: 'failed', reason: 'throttled' });
    expect(Date.now() - started).toBeLessThan(1_300);
    expect(await repair).toMatchObject({ kind: 'found', item: { subject: 'shared' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
  });

  it('retries a whole-batch 503 and reports a deleted event as gone', async () => {
    const e = sim.createEvent(user, { subject: 'to delete' });
    sim.deleteEvent(user, e.id);
    sim.addFaultRule({ pathContains: '$batch', status: 503, retryAfterSeconds: 1 });
    expect(await readEvent(fetcher, sim.defaults.tenantId, user, e.immutableId, Date.now() + 2_500)).toEqual({
      kind: 'gone',
    });
  });

  it('reads through the app-only token of the notification’s tenant', async () => {
    const megan = sim.directory.listUsers().find((u) => u.tenantId !== sim.defaults.tenantId)!;
    const e = sim.createEvent(megan.id, { subject: 'fabrikam' });
    expect(await readEvent(fetcher, megan.tenantId, megan.id, e.immutableId, soon())).toMatchObject({
      kind: 'found',
      item: { subject: 'fabrikam' },
    });
    expect(
      sim.records.requests.all().some((r) => r.path === `/${megan.tenantId}/oauth2/v2.0/token` && r.status === 200),
    ).toBe(true);
  });

  it('tells an unknown mailbox from a deleted event: never gone, so never a tombstone', async () => {
    expect(
      await readEvent(fetcher, sim.defaults.tenantId, '0badc0de-0000-4000-8000-000000000000', 'AAMkx=', soon()),
    ).toEqual({ kind: 'failed', reason: 'mailbox_unavailable' });
  });

  it('follows links only on GRAPH_BASE_URL’s origin: a foreign nextLink gets no request and no token', async () => {
    const tokensBefore = sim.records.requests.all().filter((r) => r.path.endsWith('/token')).length;
    for (const link of [
      'https://attacker.example/v1.0/users/x/calendarView/delta?$deltatoken=1',
      `${sim.urls.graph.replace('https://', 'http://')}/users/x/events`,
      'javascript:alert(1)',
    ]) {
      await expect(graph.call(sim.defaults.tenantId, 'GET', link, { timeoutMs: 1_000 })).rejects.toThrow(
        /refusing to follow a link outside GRAPH_BASE_URL's origin/,
      );
    }
    expect(sim.records.requests.all().filter((r) => r.path.endsWith('/token')).length).toBe(tokensBefore);
    // Graph's own links are followed.
    const own = await graph.call(sim.defaults.tenantId, 'GET', `${sim.urls.graph}/users/${user}/events`, {
      timeoutMs: 5_000,
    });
    expect(own.status).toBe(200);
  });
});
