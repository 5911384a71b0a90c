import type { SubscriptionRecord } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { brokersFromEnv } from '@graph2kafka/kafka-local';
import { createSubscription, PrivateBroker, TopicReader } from '@graph2kafka/testkit';
import { post, startPipeline, type Pipeline } from './pipeline.ts';

/** Graph's event as graph2kafka reads it: with the calendar it is in (what keeps a read to its calendar). */
const inCalendar = (event: Record<string, unknown>, calendarId: string) => ({ ...event, calendar: { id: calendarId } });

const withoutContext = (event: Record<string, unknown>) => {
  const { '@odata.context': _context, ...rest } = event;
  return rest;
};

describe('GCP function end to end: graph-sim → functions-framework → real Kafka', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let sub: SubscriptionRecord;
  let user: string;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    pipe = await startPipeline(sim);
    user = sim.defaults.users[0]!.id;
    sub = await createSubscription(sim, pipe.app.subscriptions, {
      userId: user,
      notificationUrl: pipe.url,
      lifecycleNotificationUrl: pipe.lifecycleUrl,
    });
  });
  afterAll(async () => {
    await pipe.stop();
    await sim.stop();
  });

  it('answered the subscription handshakes (both URLs) with the decoded token', () => {
    const handshakes = sim.records.attempts.all().filter((a) => a.kind === 'handshake');
    expect(handshakes.map((h) => [h.outcome, h.status])).toEqual([
      ['delivered', 200],
      ['delivered', 200],
    ]);
  });

  it('produces every change: enriched creates and updates, a delete with its tombstone', async () => {
    const tenant = sim.defaults.tenantId;
    const created = sim.createEvent(user, {
      subject: 'Kick-off',
      location: 'Room 4',
      start: '2026-12-02T09:00:00Z',
      end: '2026-12-02T10:00:00Z',
    });
    await sim.settled();
    const [first] = await pipe.reader.waitFor(1);
    const key = `${tenant}/${user}/${created.immutableId}`;
    expect(first!.key).toBe(key);
    expect(first!.headers).toMatchObject({
      'g2k-change-type': 'created',
      'g2k-subscription-id': sub.id,
      'g2k-tenant-id': tenant,
      'g2k-schema-version': '1',
      'g2k-enriched': 'true',
    });
    const value = JSON.parse(first!.value!);
    expect(value).toMatchObject({
      schemaVersion: 1,
      source: 'notification',
      changeType: 'created',
      enriched: true,
      eventId: created.immutableId,
      userId: user,
    });
    expect(withoutContext(value.event)).toEqual(
      inCalendar(sim.eventJson(user, created.id), sim.listCalendars(user)[0]!.id),
    );
    expect(first!.headers['g2k-notification-id']).toBe(sim.notifications({ kind: 'change' })[0]!.id);

    sim.updateEvent(user, created.id, {
      subject: 'Kick-off (moved)',
      start: '2026-12-03T09:00:00Z',
      end: '2026-12-03T10:00:00Z',
    });
    await sim.settled();
    const second = (await pipe.reader.waitFor(2))[1]!;
    expect(second.key).toBe(key);
    expect(JSON.parse(second.value!).event).toMatchObject({
      subject: 'Kick-off (moved)',
      start: { dateTime: '2026-12-03T09:00:00.0000000' },
    });
    expect(withoutContext(JSON.parse(second.value!).event)).toEqual(
      inCalendar(sim.eventJson(user, created.id), sim.listCalendars(user)[0]!.id),
    );

    sim.deleteEvent(user, created.id);
    await sim.settled();
    const [, , deleted, tombstone] = await pipe.reader.waitFor(4);
    expect(deleted!.key).toBe(key);
    expect(JSON.parse(deleted!.value!)).toMatchObject({ changeType: 'deleted', event: null, enriched: false });
    expect(tombstone!).toMatchObject({
      key,
      value: null,
      headers: expect.objectContaining({ 'g2k-tombstone': 'true', 'g2k-change-type': 'deleted' }),
    });
    // Same key, same partition: Kafka keeps the per-event order.
    expect(new Set(pipe.reader.records.map((r) => r.partition)).size).toBe(1);
    expect(sim.notifications({ kind: 'change', state: 'delivered' })).toHaveLength(3);
  });

  it('answers a forged clientState with 202 and produces nothing', async () => {
    const before = pipe.reader.records.length;
    const forged = {
      value: [
        {
          id: 'forged-1',
          subscriptionId: sub.id,
          subscriptionExpirationDateTime: sub.expirationDateTime,
          changeType: 'created',
          resource: `Users/${user}/Events/AAMkforged=`,
          resourceData: { id: 'AAMkforged=' },
          clientState: 'not-the-secret',
          tenantId: sim.defaults.tenantId,
        },
      ],
    };
    const res = await post(pipe.url, JSON.stringify(forged));
    expect(res.status).toBe(202);
    expect(pipe.app.receiver.counters.rejected.client_state_mismatch).toBe(1);
    // A real change after it arrives alone: the forged one never reached the topic.
    sim.createEvent(user, { subject: 'after the forgery' });
    await sim.settled();
    await pipe.reader.waitFor(before + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(pipe.reader.records.slice(before).map((r) => r.headers['g2k-notification-id'])).not.toContain('forged-1');
    expect(pipe.reader.records).toHaveLength(before + 1);
  });

  it('answers a notification of a tenant outside the allow-list with 202 and produces nothing', async () => {
    const foreign = sim.directory.listUsers().find((u) => u.tenantId !== sim.defaults.tenantId)!;
    const res = await post(
      pipe.url,
      JSON.stringify({
        value: [
          {
            subscriptionId: sub.id,
            changeType: 'created',
            resource: `Users/${foreign.id}/Events/AAMkx=`,
            resourceData: { id: 'AAMkx=' },
            clientState: sub.clientState,
            tenantId: foreign.tenantId,
          },
        ],
      }),
    );
    expect(res.status).toBe(202);
    expect(pipe.app.receiver.counters.rejected.tenant_not_allowed).toBe(1);
  });

  it.each([
    ['malformed JSON', '{"value": [', /not valid JSON/],
    ['a body without value', '{"hello": 1}', /non-empty 'value' array/],
    [
      'an item without tenantId',
      '{"value":[{"subscriptionId":"x","changeType":"created","resource":"Users/u/Events/e"}]}',
      /tenantId must be a GUID/,
    ],
  ])('answers %s with 400 and a reason', async (_name, body, reason) => {
    // Sent as text/plain so the body reaches the function unparsed (see the next test for application/json).
    const res = await post(pipe.url, body, { 'Content-Type': 'text/plain' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(reason);
  });

  it('answers malformed JSON sent as application/json with 400, parsed once (by core, not by functions-framework)', async () => {
    const badBefore = pipe.app.receiver.counters.badRequests;
    const res = await post(pipe.url, '{"value": [');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BadRequest');
    // The wire guard read the body, so the framework's JSON parser skipped it: core's parser refused it.
    expect(pipe.app.receiver.counters.badRequests).toBe(badBefore + 1);
  });

  it('answers an oversized body with 413', async () => {
    const res = await post(pipe.url, JSON.stringify({ value: [{ pad: 'x'.repeat(1_100_000) }] }));
    expect(res.status).toBe(413);
  });

  it('never JSON-parses the empty handshake POST and reflects only the decoded token as text/plain', async () => {
    const res = await fetch(`${pipe.url}?validationToken=Validation%3a+Testing+%3Cscript%3E`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('Validation: Testing <script>');
  });

  it('produces lifecycle notifications to the lifecycle topic after verifying them', async () => {
    const lifecycleReader = await TopicReader.start(brokersFromEnv(), pipe.lifecycleTopic);
    try {
      sim.lifecycle(sub.id, 'missed');
      await sim.settled();
      const [record] = await lifecycleReader.waitFor(1);
      expect(JSON.parse(record!.value!)).toMatchObject({ lifecycleEvent: 'missed', subscriptionId: sub.id });
      expect(record!.headers['g2k-lifecycle-event']).toBe('missed');
    } finally {
      await lifecycleReader.stop();
    }
  });
});

describe('GCP function under faults', () => {
  let sim: GraphSim;
  afterEach(async () => {
    await sim.stop();
  });

  it('answers 503 while Kafka is down; after the restart Graph’s redeliveries land and none is lost', async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20, retryBaseDelayMs: 500, retryMaxDelayMs: 2_000 } });
    const broker = await PrivateBroker.start();
    const pipe = await startPipeline(sim, { KAFKA_BROKERS: broker.brokers.join(',') });
    try {
      const user = sim.defaults.users[0]!.id;
      await createSubscription(sim, pipe.app.subscriptions, { userId: user, notificationUrl: pipe.url });
      sim.createEvent(user, { subject: 'before the outage' });
      await sim.settled();
      await pipe.reader.waitFor(1);
      await pipe.reader.stop();

      await broker.stop();
      for (const i of [1, 2, 3]) sim.createEvent(user, { subject: `during the outage ${i}` });
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (sim.records.attempts.all().some((a) => a.kind === 'change' && a.status === 503)) {
            clearInterval(poll);
            resolve();
          }
        }, 20);
      });
      expect(sim.notifications({ kind: 'change', state: 'pending' }).length).toBe(3);

      await broker.restart();
      await sim.settled(30_000);
      const reader = await TopicReader.start(broker.brokers, pipe.topic);
      try {
        const delivered = sim.notifications({ kind: 'change', state: 'delivered' });
        expect(delivered).toHaveLength(4);
        // Every partition to its end: a send that Kafka took after its 503 gives a duplicate (at least once), and
        // four records seen are then not yet all four notifications.
        await reader.waitFor(4);
        await reader.readToEnd();
        const inKafka = new Set(reader.records.map((r) => r.headers['g2k-notification-id']));
        const lost = delivered.filter((n) => !inKafka.has(n.id));
        expect(lost).toEqual([]);
      } finally {
        await reader.stop();
      }
    } finally {
      await pipe.stop().catch(() => undefined);
      await broker.destroy();
    }
  }, 90_000);

  it('produces unenriched records inside the budget during a Graph 429 storm', async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 }, faults: { throttleRate: 1, retryAfterSeconds: 10 } });
    const pipe = await startPipeline(sim);
    try {
      const user = sim.defaults.users[0]!.id;
      await createSubscription(sim, pipe.app.subscriptions, { userId: user, notificationUrl: pipe.url });
      const started = Date.now();
      sim.createEvent(user, { subject: 'storm' });
      await sim.settled();
      const [record] = await pipe.reader.waitFor(1);
      expect(JSON.parse(record!.value!)).toMatchObject({
        enriched: false,
        notEnrichedReason: 'throttled',
        event: null,
      });
      expect(record!.headers['g2k-enriched']).toBe('false');
      const attempt = sim.records.attempts.all().find((a) => a.kind === 'change')!;
      expect(attempt.outcome).toBe('delivered');
      expect(attempt.durationMs).toBeLessThan(3_000);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await pipe.stop();
    }
  });

  it('produces unenriched records when the token endpoint is down, and enriches again once it is back', async () => {
    sim = await GraphSim.start({
      delivery: { batchWindowMs: 20 },
      faults: { tokenOutage: true, tokenOutageRetryAfterSeconds: 1 },
    });
    const pipe = await startPipeline(sim);
    try {
      const user = sim.defaults.users[0]!.id;
      sim.setFaults({ tokenOutage: false });
      await createSubscription(sim, pipe.app.subscriptions, { userId: user, notificationUrl: pipe.url });
      sim.setFaults({ tokenOutage: true });
      sim.createEvent(user, { subject: 'no token' });
      await sim.settled();
      const [first] = await pipe.reader.waitFor(1);
      expect(JSON.parse(first!.value!)).toMatchObject({ enriched: false, notEnrichedReason: 'token_unavailable' });

      sim.setFaults({ tokenOutage: false });
      // MSAL asks the token endpoint again once the last refusal's Retry-After has passed.
      const refusals = sim.records.requests.all().filter((r) => r.path.endsWith('/token') && r.status === 503);
      const askAgainAt = Date.parse(refusals.at(-1)!.at) + 1_100;
      while (sim.clock.now() < askAgainAt) await new Promise((r) => setTimeout(r, 50));
      sim.createEvent(user, { subject: 'token back' });
      await sim.settled();
      const second = (await pipe.reader.waitFor(2))[1]!;
      expect(JSON.parse(second.value!)).toMatchObject({
        enriched: true,
        notEnrichedReason: null,
        event: { subject: 'token back' },
      });
    } finally {
      await pipe.stop();
    }
  });
});
