import { DEV_APP_ID, type GraphSim } from '../src/index.ts';
import { call, correctReply, futureIso, getToken, Receiver, startSim, subscribe, type Reply } from './helpers.ts';

describe('subscriptions: create with the real handshake, renew, reauthorize, delete, list', () => {
  let sim: GraphSim;
  let receiver: Receiver;
  let token: string;
  let alex: string;
  beforeAll(async () => {
    sim = await startSim({ subscriptions: { listPageSize: 2, quotaPerMailbox: 4, handshakeTimeoutMs: 300 } });
    receiver = await Receiver.start();
    token = await getToken(sim);
    alex = sim.defaults.users[1]!.id;
  });
  afterAll(async () => {
    await sim.stop();
    await receiver.stop();
  });
  afterEach(async () => {
    receiver.reply = correctReply;
    for (const s of sim.subscriptions.all()) await call(sim, 'DELETE', `/v1.0/subscriptions/${s.id}`, { token });
    receiver.received.length = 0;
  });

  const body = (over: Record<string, unknown> = {}) => ({
    changeType: 'created,updated,deleted',
    notificationUrl: receiver.url,
    lifecycleNotificationUrl: `${receiver.url}?lifecycle=1`,
    resource: `/users/${alex}/events`,
    expirationDateTime: futureIso(3 * 24 * 60, sim),
    clientState: 'abc',
    ...over,
  });

  it('validates both URLs with an encoded token, then answers 201 with the subscription', async () => {
    const res = await call(sim, 'POST', '/v1.0/subscriptions', { token, json: body() });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      resource: `/users/${alex}/events`,
      changeType: 'created,updated,deleted',
      clientState: 'abc',
      applicationId: DEV_APP_ID,
    });
    const handshakes = receiver.handshakes();
    expect(handshakes).toHaveLength(2);
    expect(handshakes[1]!.query.get('lifecycle')).toBe('1');
    for (const h of handshakes) {
      expect(h.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(h.text).toBe('');
    }
    // The token on the wire is form-encoded (%3a, +); decoded it is Graph's plain text.
    expect(handshakes[0]!.query.get('validationToken')).toMatch(
      /^Validation: Testing client application reachability for subscription Request-Id: [0-9a-f-]{36}$/,
    );
  });

  it('fails the handshake (400 ValidationError) when the endpoint echoes the still-encoded token', async () => {
    receiver.reply = (r) => {
      const raw = /validationToken=([^&]*)/.exec(r.query.toString())![1]!;
      return { status: 200, body: raw, contentType: 'text/plain' };
    };
    const res = await call(sim, 'POST', '/v1.0/subscriptions', { token, json: body() });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'ValidationError',
      message: 'Subscription validation request failed. Response must exactly match validationToken query parameter.',
    });
    expect(sim.subscriptions.all()).toHaveLength(0);
  });

  it.each([
    ['a non-200 answer', { status: 202 }, /must respond with 200 OK/],
    ['a JSON content type', { status: 200, body: 'x', contentType: 'application/json' }, /Content-Type text\/plain/],
    ['no answer within the timeout', { status: 200, delayMs: 1_000 }, /timed out/],
  ])('fails the handshake on %s', async (_name, reply: Reply, message) => {
    receiver.reply = (r) => ({ ...reply, body: reply.body ?? r.query.get('validationToken') ?? '' });
    const res = await call(sim, 'POST', '/v1.0/subscriptions', { token, json: body() });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('ValidationError');
    expect(res.body.error.message).toMatch(message);
  });

  it('fails the handshake when nothing listens at the URL', async () => {
    const res = await call(sim, 'POST', '/v1.0/subscriptions', {
      token,
      json: body({ notificationUrl: 'http://127.0.0.1:1/hook' }),
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/HTTP request failed/);
  });

  it('answers 409 for a duplicate changeType + resource', async () => {
    const first = await call(sim, 'POST', '/v1.0/subscriptions', { token, json: body() });
    const second = await call(sim, 'POST', '/v1.0/subscriptions', {
      token,
      json: body({ notificationUrl: `${receiver.url}?b=1` }),
    });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toBe(
      `Subscription Id ${first.body.id} already exists for the requested combination`,
    );
  });

  it('raises an expiration under 45 minutes and refuses one beyond the maximum', async () => {
    const short = await call(sim, 'POST', '/v1.0/subscriptions', {
      token,
      json: body({ expirationDateTime: futureIso(5, sim) }),
    });
    expect(short.status).toBe(201);
    expect(Date.parse(short.body.expirationDateTime as string) - sim.clock.now()).toBeGreaterThan(44 * 60_000);

    const long = await call(sim, 'POST', '/v1.0/subscriptions', {
      token,
      json: body({ changeType: 'created', expirationDateTime: futureIso(10_081, sim) }),
    });
    expect(long.status).toBe(400);
    expect(long.body.error.message).toBe('Subscription expiration can only be 10080 minutes in the future.');

    const rich = await call(sim, 'POST', '/v1.0/subscriptions', {
      token,
      json: body({
        changeType: 'created',
        includeResourceData: true,
        encryptionCertificate: 'MII...',
        encryptionCertificateId: 'k1',
        expirationDateTime: futureIso(1_441, sim),
      }),
    });
    expect(rich.status).toBe(400);
    expect(rich.body.error.message).toBe('Subscription expiration can only be 1440 minutes in the future.');
  });

  it.each([
    ['clientState over 128 characters', { clientState: 'x'.repeat(129) }, /maximum is 128/],
    ['an unknown change type', { changeType: 'created,moved' }, /Invalid 'changeType'/],
    ['an http URL off loopback', { notificationUrl: 'http://example.com/hook' }, /must use https/],
    ['an app-only /me resource', { resource: '/me/events' }, /only valid with delegated/],
    ['an unsupported resource', { resource: '/users/x/calendars' }, /not supported/],
    ['an unknown property', { color: 'red' }, /does not exist on type/],
    ['a missing expiration', { expirationDateTime: undefined }, /expirationDateTime is required/],
  ])('answers 400 for %s', async (_name, over, message) => {
    const res = await call(sim, 'POST', '/v1.0/subscriptions', { token, json: body(over) });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
    expect(receiver.handshakes()).toHaveLength(0);
  });

  it('answers 404 for a mailbox of another tenant', async () => {
    const megan = sim.directory.listUsers().find((u) => u.tenantId !== sim.defaults.tenantId)!;
    const res = await call(sim, 'POST', '/v1.0/subscriptions', {
      token,
      json: body({ resource: `/users/${megan.id}/events` }),
    });
    expect(res.status).toBe(404);
  });

  it('renews with PATCH, reauthorizes with 204, deletes with 204, then 404', async () => {
    const sub = (
      await call(sim, 'POST', '/v1.0/subscriptions', { token, json: body({ expirationDateTime: futureIso(60, sim) }) })
    ).body;
    const newExpiry = futureIso(5_000, sim);
    const patched = await call(sim, 'PATCH', `/v1.0/subscriptions/${sub.id}`, {
      token,
      json: { expirationDateTime: newExpiry },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.expirationDateTime).toBe(newExpiry);

    const lifecyclePatch = await call(sim, 'PATCH', `/v1.0/subscriptions/${sub.id}`, {
      token,
      json: { lifecycleNotificationUrl: receiver.url },
    });
    expect(lifecyclePatch.status).toBe(400);

    sim.clock.advance(11 * 60_000);
    expect((await call(sim, 'POST', `/v1.0/subscriptions/${sub.id}/reauthorize`, { token })).status).toBe(204);
    expect(sim.records.warnings.all().filter((w) => w.subscriptionId === sub.id)).toHaveLength(0);
    expect((await call(sim, 'DELETE', `/v1.0/subscriptions/${sub.id}`, { token })).status).toBe(204);
    const gone = await call(sim, 'GET', `/v1.0/subscriptions/${sub.id}`, { token });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('ResourceNotFound');
    expect(
      (await call(sim, 'PATCH', `/v1.0/subscriptions/${sub.id}`, { token, json: { expirationDateTime: newExpiry } }))
        .status,
    ).toBe(404);
  });

  it('warns when PATCH and reauthorize hit one subscription within 10 minutes', async () => {
    const sub = (await call(sim, 'POST', '/v1.0/subscriptions', { token, json: body() })).body;
    await call(sim, 'POST', `/v1.0/subscriptions/${sub.id}/reauthorize`, { token });
    await call(sim, 'PATCH', `/v1.0/subscriptions/${sub.id}`, {
      token,
      json: { expirationDateTime: futureIso(4_000, sim) },
    });
    expect(
      sim.records.warnings
        .all()
        .filter((w) => w.subscriptionId === sub.id)
        .map((w) => w.code),
    ).toEqual(['ReauthorizeAndPatchWithin10Minutes']);
  });

  it('lists only this app’s subscriptions, in pages', async () => {
    for (const changeType of ['created', 'updated', 'deleted']) {
      expect((await call(sim, 'POST', '/v1.0/subscriptions', { token, json: body({ changeType }) })).status).toBe(201);
    }
    const other = sim.addApp({ tenants: [sim.defaults.tenantId] });
    const otherToken = await getToken(sim, other.clientId, other.clientSecret);
    expect(
      (await call(sim, 'POST', '/v1.0/subscriptions', { token: otherToken, json: body({ changeType: 'created' }) }))
        .status,
    ).toBe(201);

    const first = await call(sim, 'GET', '/v1.0/subscriptions', { token });
    expect(first.body.value).toHaveLength(2);
    expect(first.body.value[0].clientState).toBeNull();
    const second = await call(sim, 'GET', first.body['@odata.nextLink'] as string, { token });
    expect(second.body.value).toHaveLength(1);
    expect(second.body['@odata.nextLink']).toBeUndefined();
    const ids = [...first.body.value, ...second.body.value].map((s: { applicationId: string }) => s.applicationId);
    expect(new Set(ids)).toEqual(new Set([DEV_APP_ID]));
    for (const s of sim.subscriptions.all().filter((x) => x.applicationId === other.clientId)) {
      await call(sim, 'DELETE', `/v1.0/subscriptions/${s.id}`, { token: otherToken });
    }
  });

  it('enforces the per-mailbox quota across apps with 403', async () => {
    const other = sim.addApp({ tenants: [sim.defaults.tenantId] });
    const otherToken = await getToken(sim, other.clientId, other.clientSecret);
    for (const changeType of ['created', 'updated', 'deleted']) {
      expect((await call(sim, 'POST', '/v1.0/subscriptions', { token, json: body({ changeType }) })).status).toBe(201);
    }
    expect(
      (await call(sim, 'POST', '/v1.0/subscriptions', { token: otherToken, json: body({ changeType: 'created' }) }))
        .status,
    ).toBe(201);
    const over = await call(sim, 'POST', '/v1.0/subscriptions', {
      token: otherToken,
      json: body({ changeType: 'updated' }),
    });
    expect(over.status).toBe(403);
    expect(over.body.error.message).toMatch(/limit of 4/);
    for (const s of sim.subscriptions.all().filter((x) => x.applicationId === other.clientId)) {
      await call(sim, 'DELETE', `/v1.0/subscriptions/${s.id}`, { token: otherToken });
    }
  });

  it('throttles subscription listing at 25 per 20 s with Retry-After', async () => {
    const app = sim.addApp({ tenants: [sim.defaults.tenantId] });
    const appToken = await getToken(sim, app.clientId, app.clientSecret);
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 26; i++) {
      const res = await call(sim, 'GET', '/v1.0/subscriptions', { token: appToken });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers['retry-after'] as string;
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(25);
    expect(statuses[25]).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    sim.clock.advance(20_001);
    expect((await call(sim, 'GET', '/v1.0/subscriptions', { token: appToken })).status).toBe(200);
  });

  it('deletes a subscription at its expiry (no renewal) and says so in the warnings', async () => {
    const sub = await subscribe(sim, token, receiver, { userId: alex, minutes: 50 });
    sim.clock.advance(51 * 60_000);
    await new Promise((r) => setTimeout(r, 20));
    expect((await call(sim, 'GET', `/v1.0/subscriptions/${sub.id}`, { token: await getToken(sim) })).status).toBe(404);
    expect(
      sim.records.warnings.all().some((w) => w.subscriptionId === sub.id && w.code === 'SubscriptionExpired'),
    ).toBe(true);
    token = await getToken(sim);
  });

  it('answers malformed bodies with Graph-shaped 400s', async () => {
    const res = await call(sim, 'POST', '/v1.0/subscriptions', {
      token,
      raw: '{not json',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'BadRequest' });
    const arr = await call(sim, 'POST', '/v1.0/subscriptions', { token, json: [1, 2] });
    expect(arr.status).toBe(400);
  });
});
