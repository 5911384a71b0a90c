import type { GraphSim } from '../src/index.ts';
import { call, getToken, Receiver, startSim, subscribe, waitFor } from './helpers.ts';

/** Short real timeouts and sim-time retry delays, so Graph's hours of retries fit a test. */
const FAST = {
  delivery: {
    firstAttemptTimeoutMs: 300,
    retryTimeoutMs: 300,
    retryBaseDelayMs: 1_000,
    retryMaxDelayMs: 60_000,
    retryForMs: 4 * 3_600_000,
    batchWindowMs: 20,
  },
};

/** The receiver answers the handshake, fails the first notification POST with `status`, then takes them all. */
function failFirstPost(receiver: Receiver, status: number): void {
  let failures = 1;
  receiver.reply = (r) =>
    r.query.has('validationToken')
      ? { status: 200, body: r.query.get('validationToken')!, contentType: 'text/plain' }
      : failures-- > 0
        ? { status }
        : { status: 202 };
}

describe('delivery: notifications, Graph retry rules and lifecycle events', () => {
  let sim: GraphSim;
  let receiver: Receiver;
  let token: string;
  let adele: string;
  let alex: string;
  beforeEach(async () => {
    sim = await startSim(FAST);
    receiver = await Receiver.start();
    token = await getToken(sim);
    [adele, alex] = sim.defaults.users.map((u) => u.id) as [string, string];
  });
  afterEach(async () => {
    await sim.stop();
    await receiver.stop();
  });

  const notificationsOnly = () => receiver.posts().filter((p) => !p.query.has('lifecycle'));
  const lifecycleEvents = () =>
    receiver
      .posts()
      .filter((p) => p.query.has('lifecycle'))
      .flatMap((p) => (p.body as { value: Array<{ lifecycleEvent: string }> }).value);

  it('sends one notification per change, several per POST, mixing subscriptions that share a URL', async () => {
    const s1 = await subscribe(sim, token, receiver, { userId: adele, clientState: 'state-adele' });
    const s2 = await subscribe(sim, token, receiver, { userId: alex, clientState: 'state-alex' });
    const a = sim.createEvent(adele, { subject: 'a' });
    const b = sim.createEvent(alex, { subject: 'b' });
    sim.updateEvent(adele, a.id, { subject: 'a2' });
    sim.deleteEvent(alex, b.id);
    await sim.settled();

    const posts = notificationsOnly();
    expect(posts).toHaveLength(1);
    const value = (posts[0]!.body as { value: Array<Record<string, unknown>> }).value;
    expect(value.map((n) => [n.subscriptionId, n.changeType])).toEqual([
      [s1.id, 'created'],
      [s2.id, 'created'],
      [s1.id, 'updated'],
      [s2.id, 'deleted'],
    ]);
    expect(value[0]).toMatchObject({
      clientState: 'state-adele',
      tenantId: sim.defaults.tenantId,
      resource: `Users/${adele}/Events/${a.immutableId}`,
      resourceData: {
        '@odata.type': '#Microsoft.Graph.Event',
        id: a.immutableId,
        '@odata.id': `Users/${adele}/Events/${a.immutableId}`,
      },
      subscriptionExpirationDateTime: s1.expirationDateTime,
    });
    expect(posts[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(sim.notifications({ state: 'delivered' })).toHaveLength(4);
  });

  it('honours the subscription’s change types and id flavour (REST ids without ImmutableId)', async () => {
    await subscribe(sim, token, receiver, { userId: adele, changeType: 'deleted', immutable: false });
    const e = sim.createEvent(adele, { subject: 'x' });
    sim.updateEvent(adele, e.id, { subject: 'y' });
    sim.deleteEvent(adele, e.id);
    await sim.settled();
    const value = receiver.notifications().filter((n) => n.changeType);
    expect(value.map((n) => [n.changeType, n.resourceData.id])).toEqual([['deleted', e.id]]);
  });

  it('redelivers after a 500, and records both attempts', async () => {
    await subscribe(sim, token, receiver, { userId: adele });
    failFirstPost(receiver, 500);
    sim.clock.setSpeed(100);
    const e = sim.createEvent(adele, { subject: 'retry me' });
    await sim.settled();
    const posts = notificationsOnly();
    expect(posts).toHaveLength(2);
    expect(posts[0]!.text).toBe(posts[1]!.text);
    const attempts = sim.records.attempts.all().filter((a) => a.kind === 'change');
    expect(attempts.map((a) => [a.attempt, a.outcome, a.status])).toEqual([
      [1, 'rejected', 500],
      [2, 'delivered', 202],
    ]);
    const [record] = sim.notifications({ kind: 'change' });
    expect(record).toMatchObject({ state: 'delivered', attempts: 2, eventId: e.immutableId });
  });

  it('says which failed POST it will try again and when; the delivery window covers that retry', async () => {
    await subscribe(sim, token, receiver, { userId: adele });
    failFirstPost(receiver, 503);
    // At the real speed, the retry waits FAST's base delay of 1 s: long enough to look at it before it happens.
    sim.createEvent(adele, { subject: 'retry me' });
    const [retry] = await waitFor('a redelivery scheduled', () => sim.redeliveries().length > 0 && sim.redeliveries());
    expect(retry).toMatchObject({ url: receiver.url, kind: 'change', attempt: 2, notifications: 1, lastStatus: 503 });
    expect(retry!.inMs).toBeGreaterThan(0);
    expect(retry!.inMs).toBeLessThanOrEqual(1_000);
    // The 20 ms batch window and the 1 s retry delay, plus the 300 ms timeouts of the first attempt and the retry.
    expect(sim.deliveryWindowMs(1)).toBe(1_020 + 300 + 300);
    await sim.settled(sim.deliveryWindowMs(1));
    expect(sim.redeliveries()).toEqual([]);
    expect(sim.notifications({ state: 'delivered', kind: 'change' })).toHaveLength(1);
  });

  it('treats an answer slower than 3 s (here: the configured first-attempt timeout) as failed and retries', async () => {
    await subscribe(sim, token, receiver, { userId: adele });
    let slow = 1;
    receiver.reply = (r) =>
      r.query.has('validationToken')
        ? { status: 200, body: r.query.get('validationToken')!, contentType: 'text/plain' }
        : { status: 202, delayMs: slow-- > 0 ? 600 : 0 };
    sim.clock.setSpeed(100);
    sim.createEvent(adele, { subject: 'slow' });
    await sim.settled();
    expect(
      sim.records.attempts
        .all()
        .filter((a) => a.kind === 'change')
        .map((a) => a.outcome),
    ).toEqual(['timeout', 'delivered']);
  });

  it('gives up after 4 hours of retries, drops the notification and sends `missed`', async () => {
    // Keep the subscription's own authorization valid all along, so only the endpoint's failures count.
    await sim.stop();
    sim = await startSim({ ...FAST, subscriptions: { authorizationMinutes: 24 * 60 } });
    token = await getToken(sim);
    await subscribe(sim, token, receiver, { userId: adele });
    receiver.reply = (r) =>
      r.query.has('validationToken')
        ? { status: 200, body: r.query.get('validationToken')!, contentType: 'text/plain' }
        : r.query.has('lifecycle')
          ? { status: 202 }
          : { status: 503 };
    sim.createEvent(adele, { subject: 'never' });
    // Jump simulated time straight to each due retry, letting each attempt finish before the next jump.
    for (let i = 0; i < 300 && sim.notifications({ kind: 'change', state: 'pending' }).length; i++) {
      const before = sim.records.attempts.all().length;
      sim.clock.advance(Math.max(0, (sim.clock.nextDueAt() ?? sim.clock.now()) - sim.clock.now()));
      await waitFor(
        'the due attempt',
        () =>
          sim.records.attempts.all().length > before || !sim.notifications({ kind: 'change', state: 'pending' }).length,
      );
    }
    await sim.settled();
    const change = sim.notifications({ kind: 'change' });
    expect(change).toHaveLength(1);
    expect(change[0]).toMatchObject({ state: 'dropped', droppedReason: 'retriesExhausted' });
    const attempts = sim.records.attempts.all().filter((a) => a.kind === 'change');
    const span = Date.parse(attempts.at(-1)!.at) - Date.parse(attempts[0]!.at);
    // Real milliseconds pass between a jump and the attempt it triggers; allow one second of them.
    expect(span).toBeLessThanOrEqual(4 * 3_600_000 + 1_000);
    expect(span).toBeGreaterThan(3 * 3_600_000);
    // Exponential backoff: the gaps between attempts grow.
    const gaps = attempts.slice(1).map((a, i) => Date.parse(a.at) - Date.parse(attempts[i]!.at));
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    expect(lifecycleEvents().map((l) => l.lifecycleEvent)).toContain('missed');
  }, 30_000);

  it('drops notifications while the endpoint is in the drop state, and delays them in the slow state', async () => {
    await subscribe(sim, token, receiver, { userId: adele });
    sim.setEndpointState(receiver.url, 'drop', 60_000);
    sim.createEvent(adele, { subject: 'dropped' });
    await sim.settled();
    expect(sim.notifications({ kind: 'change' })[0]).toMatchObject({
      state: 'dropped',
      droppedReason: 'endpointInDropState',
    });
    expect(lifecycleEvents().map((l) => l.lifecycleEvent)).toEqual(['missed']);

    sim.setEndpointState(receiver.url, 'slow', 60 * 60_000);
    sim.createEvent(adele, { subject: 'delayed' });
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.notifications({ state: 'pending' })).toHaveLength(1);
    sim.clock.advance(10 * 60_000);
    await sim.settled();
    expect(notificationsOnly().flatMap((p) => (p.body as { value: unknown[] }).value)).toHaveLength(1);
  });

  it('enters the slow state by itself when over 10% of answers take longer than 3 s', async () => {
    await sim.stop();
    sim = await startSim({
      ...FAST,
      delivery: { ...FAST.delivery, retryTimeoutMs: 2_000, healthMinSamples: 10, maxNotificationsPerPost: 1 },
    });
    token = await getToken(sim);
    await subscribe(sim, token, receiver, { userId: adele });
    receiver.reply = (r) =>
      r.query.has('validationToken')
        ? { status: 200, body: r.query.get('validationToken')!, contentType: 'text/plain' }
        : { status: 202, delayMs: 400 };
    for (let i = 0; i < 10; i++) sim.createEvent(adele, { subject: `s${i}` });
    await waitFor('10 slow attempts', () => sim.records.attempts.all().filter((a) => a.kind === 'change').length >= 10);
    expect(sim.health.state(receiver.url)).toBe('slow');
  });

  it('pauses delivery while the subscription’s authorization is expired, and resumes after reauthorize', async () => {
    const sub = await subscribe(sim, token, receiver, { userId: adele });
    sim.expireAuthorization(sub.id as string);
    sim.createEvent(adele, { subject: 'held' });
    await new Promise((r) => setTimeout(r, 200));
    expect(notificationsOnly()).toHaveLength(0);
    expect((await call(sim, 'POST', `/v1.0/subscriptions/${sub.id}/reauthorize`, { token })).status).toBe(204);
    sim.clock.advance(2_000);
    await sim.settled();
    expect(notificationsOnly()).toHaveLength(1);
  });

  it('sends reauthorizationRequired before the subscription’s authorization runs out', async () => {
    await subscribe(sim, token, receiver, { userId: adele });
    sim.clock.advance(46 * 60_000);
    await waitFor('reauthorizationRequired', () => lifecycleEvents().length > 0);
    expect(lifecycleEvents()).toEqual([
      expect.objectContaining({
        lifecycleEvent: 'reauthorizationRequired',
        clientState: 'secret-client-state',
        tenantId: sim.defaults.tenantId,
      }),
    ]);
  });

  it('sends lifecycle events on demand; subscriptionRemoved also removes the subscription', async () => {
    const sub = await subscribe(sim, token, receiver, { userId: adele });
    sim.lifecycle(sub.id as string, 'missed');
    sim.lifecycle(sub.id as string, 'subscriptionRemoved');
    await sim.settled();
    expect(lifecycleEvents().map((l) => l.lifecycleEvent)).toEqual(['missed', 'subscriptionRemoved']);
    expect((await call(sim, 'GET', `/v1.0/subscriptions/${sub.id}`, { token })).status).toBe(404);
  });

  it('removes a mailbox’s subscriptions on password reset, with subscriptionRemoved', async () => {
    const sub = await subscribe(sim, token, receiver, { userId: alex });
    expect(sim.resetPassword(alex).map((s) => s.id)).toEqual([sub.id]);
    await sim.settled();
    expect(lifecycleEvents()).toEqual([
      expect.objectContaining({ subscriptionId: sub.id, lifecycleEvent: 'subscriptionRemoved' }),
    ]);
  });

  it('on revoked consent: reauthorizationRequired, Graph and tokens refused, deliveries held until consent returns', async () => {
    const sub = await subscribe(sim, token, receiver, { userId: adele });
    sim.revokeConsent(sim.defaults.clientId, sim.defaults.tenantId);
    sim.createEvent(adele, { subject: 'during revocation' });
    await waitFor('reauthorizationRequired', () => lifecycleEvents().length > 0);
    expect(lifecycleEvents()[0]).toMatchObject({ lifecycleEvent: 'reauthorizationRequired' });
    const denied = await call(sim, 'POST', `/v1.0/subscriptions/${sub.id}/reauthorize`, { token });
    expect(denied.status).toBe(403);
    await expect(getToken(sim)).rejects.toThrow(/unauthorized_client/);
    expect(notificationsOnly()).toHaveLength(0);

    sim.grantConsent(sim.defaults.clientId, sim.defaults.tenantId);
    expect((await call(sim, 'POST', `/v1.0/subscriptions/${sub.id}/reauthorize`, { token })).status).toBe(204);
    sim.clock.advance(2_000);
    await sim.settled();
    expect(receiver.notifications().filter((n) => n.changeType)).toHaveLength(1);
  });

  it('drops a share of notifications on demand (deliveryDropRate), each followed by `missed`', async () => {
    await subscribe(sim, token, receiver, { userId: adele });
    sim.setFaults({ deliveryDropRate: 1 });
    sim.createEvent(adele, { subject: 'lost' });
    await sim.settled();
    expect(sim.notifications({ kind: 'change' })[0]).toMatchObject({ state: 'dropped', droppedReason: 'injectedDrop' });
    expect(lifecycleEvents().map((l) => l.lifecycleEvent)).toEqual(['missed']);
  });

  it('moves without immutable ids arrive as deleted (where it left) + created (where it went)', async () => {
    const other = sim.addCalendar(adele, 'Archive');
    await subscribe(sim, token, receiver, { userId: adele, immutable: false });
    await subscribe(sim, token, receiver, {
      userId: adele,
      immutable: false,
      resource: `/users/${adele}/calendars/${other.id}/events`,
    });
    const e = sim.createEvent(adele, { subject: 'm' });
    const moved = sim.moveEvent(adele, e.id, other.id);
    await sim.settled();
    expect(receiver.notifications().map((n) => [n.changeType, n.resourceData.id])).toEqual([
      ['created', e.id],
      ['deleted', e.id],
      ['created', moved.id],
    ]);
  });

  it('limits an app to N requests per mailbox per 10 minutes', async () => {
    await sim.stop();
    sim = await startSim({ throttling: { mailboxRequestsPer10Min: 3 } });
    token = await getToken(sim);
    const e = sim.createEvent(adele, { subject: 'r' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await call(sim, 'GET', `/v1.0/users/${adele}/events/${e.id}`, { token })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    sim.clock.advance(10 * 60_000 + 1);
    expect((await call(sim, 'GET', `/v1.0/users/${adele}/events/${e.id}`, { token })).status).toBe(200);
  });
});
