import { HttpRequest, InvocationContext } from '@azure/functions';
import { createAppFromEnv, silentLogger, type Graph2Kafka, type SubscriptionRecord } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { createSubscription, pipelineEnv, TopicReader, type PipelineEnv } from '@graph2kafka/testkit';
import { httpHandler } from '../src/handlers.ts';
import { serveAzureHandler } from './azure-bridge.ts';

const context = () =>
  new InvocationContext({ invocationId: 'test', functionName: 'graphNotifications', logHandler: () => undefined });

describe('Azure handlers end to end: graph-sim → HttpRequest/InvocationContext → real Kafka', () => {
  let sim: GraphSim;
  let setup: PipelineEnv;
  let app: Graph2Kafka;
  let reader: TopicReader;
  let sub: SubscriptionRecord;
  let user: string;
  let servers: Array<Awaited<ReturnType<typeof serveAzureHandler>>>;
  const notifications = () => httpHandler(() => Promise.resolve(app));

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    setup = pipelineEnv(sim);
    app = await createAppFromEnv(setup.env, [], { logger: silentLogger });
    servers = [
      await serveAzureHandler('notifications', notifications()),
      await serveAzureHandler(
        'lifecycle',
        httpHandler(() => Promise.resolve(app)),
      ),
    ];
    reader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), setup.topic);
    user = sim.defaults.users[1]!.id;
    sub = await createSubscription(sim, app.subscriptions, {
      userId: user,
      notificationUrl: servers[0]!.url,
      lifecycleNotificationUrl: servers[1]!.url,
    });
  });
  afterAll(async () => {
    await reader.stop();
    for (const { server } of servers) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await app.close();
    await sim.stop();
  });

  it('creates, updates and deletes reach Kafka enriched, with a tombstone for the delete', async () => {
    const created = sim.createEvent(user, { subject: 'Azure review', attendees: ['megan@contoso.onmicrosoft.com'] });
    await sim.settled();
    sim.updateEvent(user, created.id, { subject: 'Azure review (v2)' });
    await sim.settled();
    const updatedJson = sim.eventJson(user, created.id);
    sim.deleteEvent(user, created.id);
    await sim.settled();
    const records = await reader.waitFor(4);
    const key = `${sim.defaults.tenantId}/${user}/${created.immutableId}`;
    expect(records.map((r) => [r.key, r.headers['g2k-change-type'], r.value === null])).toEqual([
      [key, 'created', false],
      [key, 'updated', false],
      [key, 'deleted', false],
      [key, 'deleted', true],
    ]);
    const updated = JSON.parse(records[1]!.value!);
    const { '@odata.context': _ctx, ...event } = updated.event;
    // As graph2kafka reads it: with the calendar it is in, the default one.
    expect(event).toEqual({ ...updatedJson, calendar: { id: sim.listCalendars(user)[0]!.id } });
    expect(
      records.every(
        (r) => r.headers['g2k-subscription-id'] === sub.id && r.headers['g2k-tenant-id'] === sim.defaults.tenantId,
      ),
    ).toBe(true);
  });

  it('answers the handshake from the query before loading any configuration', async () => {
    const handler = httpHandler(() => Promise.reject(new Error('must not be called')));
    const res = await handler(
      new HttpRequest({
        method: 'POST',
        url: 'http://h/api/n?validationToken=Validation%3a+Testing+client+application+reachability',
      }),
      context(),
    );
    expect(res).toMatchObject({
      status: 200,
      body: 'Validation: Testing client application reachability',
      headers: expect.objectContaining({ 'Content-Type': 'text/plain; charset=utf-8' }),
    });
  });

  it.each([
    ['malformed JSON', '{"value": [', /not valid JSON/],
    [
      'a collection with no notification in it',
      '{"value":[{"subscriptionId":"s","lifecycleEvent":"missed"}]}',
      /tenantId must be a GUID/,
    ],
  ])('answers %s with 400 and a reason', async (_name, body, reason) => {
    const res = await notifications()(
      new HttpRequest({
        method: 'POST',
        url: 'http://h/api/n',
        headers: { 'content-type': 'application/json' },
        body: { string: body },
      }),
      context(),
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body as string).error.message).toMatch(reason);
  });

  it('answers an oversized body with 413 without reading it', async () => {
    const res = await notifications()(
      new HttpRequest({
        method: 'POST',
        url: 'http://h/api/n',
        headers: { 'content-type': 'application/json', 'content-length': String(5_000_000) },
        body: { string: '{}' },
      }),
      context(),
    );
    expect(res.status).toBe(413);
  });

  it('answers a forged clientState with 202 and counts it', async () => {
    const before = app.receiver.counters.rejected.client_state_mismatch;
    const res = await notifications()(
      new HttpRequest({
        method: 'POST',
        url: 'http://h/api/n',
        headers: { 'content-type': 'application/json' },
        body: {
          string: JSON.stringify({
            value: [
              {
                subscriptionId: sub.id,
                changeType: 'updated',
                resource: `Users/${user}/Events/AAMkz=`,
                resourceData: { id: 'AAMkz=' },
                clientState: `${sub.clientState}x`,
                tenantId: sim.defaults.tenantId,
              },
            ],
          }),
        },
      }),
      context(),
    );
    expect(res.status).toBe(202);
    expect(app.receiver.counters.rejected.client_state_mismatch).toBe(before + 1);
  });

  it('gives each item of a mixed POST its own verdict: valid items once, foreign ones skipped, the lifecycle item to its topic', async () => {
    const lifecycleReader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), setup.lifecycleTopic);
    try {
      const before = reader.records.length;
      const e1 = sim.createEvent(user, { subject: 'mixed one' }).immutableId;
      const e2 = sim.createEvent(user, { subject: 'mixed two' }).immutableId;
      await sim.settled();
      await reader.waitFor(before + 2);
      const other = sim.defaults.users[0]!.id;
      const item = (resource: string, over: Record<string, unknown> = {}) => ({
        subscriptionId: sub.id,
        changeType: 'updated',
        resource,
        clientState: sub.clientState,
        tenantId: sub.tenantId,
        ...over,
      });
      const body = JSON.stringify({
        value: [
          item(`Users('${user}')/Events('${e1}')`),
          item(`/users/${user}@${sub.tenantId}/events/${e2}`),
          item(`Users/${other}/Events/${e1}`),
          item(`Users/${user}/Events/${e1}`, { subscriptionId: 'c0ffee00-0000-4000-8000-000000000000' }),
          { subscriptionId: sub.id, tenantId: sub.tenantId, clientState: sub.clientState, lifecycleEvent: 'missed' },
        ],
      });
      const res = await notifications()(
        new HttpRequest({ method: 'POST', url: 'http://h/api/n', body: { string: body } }),
        context(),
      );
      expect(res.status).toBe(202);
      const records = (await reader.waitFor(before + 4)).slice(before + 2);
      expect(
        records
          .filter((r) => r.headers['g2k-source'] === 'notification')
          .map((r) => r.key)
          .sort(),
      ).toEqual([e1, e2].map((e) => `${sim.defaults.tenantId}/${user}/${e}`).sort());
      expect(records.every((r) => r.key!.includes(`/${user}/`))).toBe(true);
      const [lifecycle] = await lifecycleReader.waitFor(1);
      expect(JSON.parse(lifecycle!.value!)).toMatchObject({ lifecycleEvent: 'missed', subscriptionId: sub.id });
      expect(app.receiver.counters.rejected).toMatchObject({ resource_mismatch: 1, unknown_subscription: 1 });
    } finally {
      await lifecycleReader.stop();
    }
  });

  it('stops reading a body without Content-Length past the limit, and refuses compressed bodies', async () => {
    const big = new Uint8Array(12 * 1024 * 1024).fill(0x5b);
    const request = new HttpRequest({ method: 'POST', url: 'http://h/api/n', body: { bytes: big } });
    expect(request.headers.get('content-length')).toBeNull();
    const res = await notifications()(request, context());
    expect(res.status).toBe(413);
    const gz = await notifications()(
      new HttpRequest({
        method: 'POST',
        url: 'http://h/api/n',
        headers: { 'content-encoding': 'gzip' },
        body: { bytes: new Uint8Array([0x1f, 0x8b]) },
      }),
      context(),
    );
    expect(gz.status).toBe(415);
  });

  it('answers 503 with Retry-After when the configuration is broken, and logs every problem', async () => {
    const logs: string[] = [];
    const ctx = new InvocationContext({
      invocationId: 'x',
      functionName: 'graphNotifications',
      logHandler: (level, ...args) => logs.push(`${level} ${JSON.stringify(args)}`),
    });
    const handler = httpHandler(() => createAppFromEnv({ KAFKA_BROKERS: 'nope' }));
    const res = await handler(
      new HttpRequest({ method: 'POST', url: 'http://h/api/n', body: { string: '{"value":[]}' } }),
      ctx,
    );
    expect(res.status).toBe(503);
    expect(res.headers).toMatchObject({ 'Retry-After': '60' });
    expect(logs.join('\n')).toMatch(/AZURE_TENANT_ID is not set/);
    expect(logs.join('\n')).toMatch(/KAFKA_BROKERS entries must be host:port/);
  });
});
