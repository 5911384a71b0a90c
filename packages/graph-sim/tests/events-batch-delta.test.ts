import type { GraphSim } from '../src/index.ts';
import { call, getToken, startSim } from './helpers.ts';

describe('resources: events, $batch and calendarView/delta', () => {
  let sim: GraphSim;
  let token: string;
  let user: string;
  beforeAll(async () => {
    sim = await startSim({ shuffleBatchResponses: true });
    token = await getToken(sim);
    user = sim.defaults.users[0]!.id;
  });
  afterAll(() => sim.stop());
  afterEach(() => sim.clearFaults());

  describe('GET event', () => {
    it('returns Graph JSON, honours $select and refuses unknown properties', async () => {
      const e = sim.createEvent(user, {
        subject: 'Budget',
        location: 'Room 1',
        start: '2026-12-01T09:00:00Z',
        end: '2026-12-01T10:00:00Z',
      });
      const full = await call(sim, 'GET', `/v1.0/users/${user}/events/${e.id}`, { token });
      expect(full.status).toBe(200);
      expect(full.body).toMatchObject({
        id: e.id,
        subject: 'Budget',
        start: { dateTime: '2026-12-01T09:00:00.0000000', timeZone: 'UTC' },
        type: 'singleInstance',
      });
      expect(full.body['@odata.context']).toContain('/$metadata#users(');

      const some = await call(sim, 'GET', `/v1.0/users/${user}/events/${e.id}?$select=subject,location`, { token });
      expect(Object.keys(some.body as object).sort()).toEqual([
        '@odata.context',
        '@odata.etag',
        'id',
        'location',
        'subject',
      ]);

      const bad = await call(sim, 'GET', `/v1.0/users/${user}/events/${e.id}?$select=subject,colour`, { token });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toBe("Could not find a property named 'colour' on type 'microsoft.graph.event'.");
    });

    it('answers 404 ErrorItemNotFound after delete, 400 for a malformed id, 404 for an unknown user', async () => {
      const e = sim.createEvent(user, { subject: 'Gone soon' });
      sim.deleteEvent(user, e.id);
      const gone = await call(sim, 'GET', `/v1.0/users/${user}/events/${e.id}`, { token });
      expect(gone.status).toBe(404);
      expect(gone.body.error.code).toBe('ErrorItemNotFound');
      expect((await call(sim, 'GET', `/v1.0/users/${user}/events/not%20an%20id!`, { token })).body.error.code).toBe(
        'ErrorInvalidIdMalformed',
      );
      expect((await call(sim, 'GET', `/v1.0/users/nobody@nowhere/events/${e.id}`, { token })).status).toBe(404);
    });

    it('changes the REST id on move; the immutable id (Prefer: IdType="ImmutableId") stays', async () => {
      const e = sim.createEvent(user, { subject: 'Mover' });
      const before = await call(sim, 'GET', `/v1.0/users/${user}/events/${e.id}`, { token });
      expect(before.body.id).toBe(e.id);
      const imm = await call(sim, 'GET', `/v1.0/users/${user}/events/${e.id}`, {
        token,
        headers: { Prefer: 'IdType="ImmutableId"' },
      });
      expect(imm.body.id).toBe(e.immutableId);
      expect(imm.headers['preference-applied']).toBe('IdType="ImmutableId"');

      const moved = sim.moveEvent(user, e.id, sim.addCalendar(user, 'Archive').id);
      expect(moved.id).not.toBe(e.id);
      expect((await call(sim, 'GET', `/v1.0/users/${user}/events/${e.id}`, { token })).status).toBe(404);
      const byImmutable = await call(sim, 'GET', `/v1.0/users/${user}/events/${e.immutableId}`, {
        token,
        headers: { Prefer: 'IdType="ImmutableId"' },
      });
      expect(byImmutable.status).toBe(200);
      expect(byImmutable.body.id).toBe(e.immutableId);
    });

    it('limits an app to 4 concurrent requests per mailbox', async () => {
      sim.setFaults({ mailboxServiceTimeMs: 100 });
      const e = sim.createEvent(user, { subject: 'Popular' });
      const results = await Promise.all(
        Array.from({ length: 6 }, () => call(sim, 'GET', `/v1.0/users/${user}/events/${e.id}`, { token })),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      const throttled = results.find((r) => r.status === 429)!;
      expect(throttled.body.error.message).toMatch(/MailboxConcurrency/);
      expect(throttled.headers['retry-after']).toBe('1');
    });
  });

  describe('$batch', () => {
    const get = (id: string, eventId: string) => ({
      id,
      method: 'GET',
      url: `/users/${user}/events/${eventId}?$select=subject`,
    });

    it('throttles one item with 429 and Retry-After while its siblings succeed', async () => {
      const [a, b, c] = ['one', 'two', 'three'].map((subject) => sim.createEvent(user, { subject }));
      sim.addFaultRule({ pathContains: b!.id, status: 429, retryAfterSeconds: 7 });
      const res = await call(sim, 'POST', '/v1.0/$batch', {
        token,
        json: { requests: [get('1', a!.id), get('2', b!.id), get('3', c!.id)] },
      });
      expect(res.status).toBe(200);
      const byId = Object.fromEntries((res.body.responses as Array<{ id: string }>).map((r) => [r.id, r]));
      expect(byId['1']).toMatchObject({ status: 200, body: { subject: 'one' } });
      expect(byId['3']).toMatchObject({ status: 200, body: { subject: 'three' } });
      expect(byId['2']).toMatchObject({
        status: 429,
        headers: { 'Retry-After': '7' },
        body: { error: { code: 'ApplicationThrottled' } },
      });
      // Every item is recorded as its own request, tied to the batch.
      const items = sim.records.requests.all().filter((r) => r.batchId);
      expect(
        items
          .slice(-3)
          .map((r) => r.status)
          .sort(),
      ).toEqual([200, 200, 429]);
    });

    it('fails dependents with 424 and reports per-item 404', async () => {
      const e = sim.createEvent(user, { subject: 'dep' });
      const res = await call(sim, 'POST', '/v1.0/$batch', {
        token,
        json: { requests: [get('a', 'AAMkmissing='), { ...get('b', e.id), dependsOn: ['a'] }] },
      });
      const byId = Object.fromEntries(
        (res.body.responses as Array<{ id: string; status: number }>).map((r) => [r.id, r.status]),
      );
      expect(byId).toEqual({ a: 404, b: 424 });
    });

    it.each([
      [
        'more than 20 requests',
        {
          requests: Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/users/x/events/y' })),
        },
        /exceeds the limit of 20/,
      ],
      [
        'duplicate ids',
        {
          requests: [
            { id: '1', method: 'GET', url: '/a' },
            { id: '1', method: 'GET', url: '/b' },
          ],
        },
        /duplicate Ids/,
      ],
      [
        'a body without Content-Type',
        { requests: [{ id: '1', method: 'POST', url: '/subscriptions', body: {} }] },
        /no Content-Type/,
      ],
      [
        'a dependsOn to a later request',
        {
          requests: [
            { id: '1', method: 'GET', url: '/a', dependsOn: ['2'] },
            { id: '2', method: 'GET', url: '/b' },
          ],
        },
        /depends on '2'/,
      ],
      ['no requests', { requests: [] }, /non-empty requests/],
    ])('answers 400 for %s', async (_name, json, message) => {
      const res = await call(sim, 'POST', '/v1.0/$batch', { token, json });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
    });

    it('can throttle the whole batch', async () => {
      sim.setFaults({ batchThrottleRate: 1, retryAfterSeconds: 3 });
      const res = await call(sim, 'POST', '/v1.0/$batch', { token, json: { requests: [get('1', 'AAMkx=')] } });
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('3');
    });
  });

  describe('calendarView/delta', () => {
    const range = 'startDateTime=2027-01-01T00:00:00Z&endDateTime=2027-02-01T00:00:00Z';
    let deltaUser: string;
    beforeAll(() => {
      deltaUser = sim.defaults.users[1]!.id;
    });

    it('pages the initial round, then reports changes and @removed in the next', async () => {
      const at = (day: number) => ({
        start: `2027-01-${String(day).padStart(2, '0')}T09:00:00Z`,
        end: `2027-01-${String(day).padStart(2, '0')}T10:00:00Z`,
      });
      const events = [1, 2, 3, 4, 5].map((d) => sim.createEvent(deltaUser, { subject: `day ${d}`, ...at(d) }));
      sim.createEvent(deltaUser, {
        subject: 'out of range',
        start: '2027-03-01T09:00:00Z',
        end: '2027-03-01T10:00:00Z',
      });

      const seen: string[] = [];
      let next = `/v1.0/users/${deltaUser}/calendarView/delta?${range}`;
      let pages = 0;
      let deltaLink = '';
      while (next) {
        const res = await call(sim, 'GET', next, { token, headers: { Prefer: 'odata.maxpagesize=2' } });
        expect(res.status).toBe(200);
        pages++;
        seen.push(...(res.body.value as Array<{ subject: string }>).map((v) => v.subject));
        next = res.body['@odata.nextLink'] ?? '';
        deltaLink = res.body['@odata.deltaLink'] ?? deltaLink;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(['day 1', 'day 2', 'day 3', 'day 4', 'day 5']);
      expect(deltaLink).toContain('$deltatoken=');

      sim.updateEvent(deltaUser, events[0]!.id, { subject: 'day 1 (moved later)' });
      sim.deleteEvent(deltaUser, events[1]!.id);
      sim.updateEvent(deltaUser, events[2]!.id, { start: '2027-05-01T09:00:00Z', end: '2027-05-01T10:00:00Z' });
      sim.createEvent(deltaUser, { subject: 'day 9', ...at(9) });

      const round = await call(sim, 'GET', deltaLink, { token });
      expect(round.status).toBe(200);
      const value = round.body.value as Array<{ id: string; subject?: string; '@removed'?: unknown }>;
      expect(value.filter((v) => !v['@removed']).map((v) => v.subject)).toEqual(['day 1 (moved later)', 'day 9']);
      expect(
        value
          .filter((v) => v['@removed'])
          .map((v) => v.id)
          .sort(),
      ).toEqual([events[1]!.id, events[2]!.id].sort());
      expect(value.find((v) => v['@removed'])!['@removed']).toEqual({ reason: 'deleted' });

      const quiet = await call(sim, 'GET', round.body['@odata.deltaLink'] as string, { token });
      expect(quiet.body.value).toEqual([]);
    });

    it('answers 410 with a Location to restart from for an invalid or invalidated token', async () => {
      const forged = await call(sim, 'GET', `/v1.0/users/${deltaUser}/calendarView/delta?$deltatoken=abc.def`, {
        token,
      });
      expect(forged.status).toBe(410);
      expect(forged.headers.location).toContain('/calendarView/delta');

      const first = await call(sim, 'GET', `/v1.0/users/${deltaUser}/calendarView/delta?${range}`, {
        token,
        headers: { Prefer: 'odata.maxpagesize=1000' },
      });
      const link = first.body['@odata.deltaLink'] as string;
      sim.invalidateDeltaTokens(deltaUser);
      const stale = await call(sim, 'GET', link, { token });
      expect(stale.status).toBe(410);
      expect(stale.headers.location).toContain('startDateTime=2027-01-01T00:00:00.000Z');
      expect(stale.body.error.code).toBe('SyncStateNotFound');
    });

    it('requires a time window and refuses $select', async () => {
      const noRange = await call(sim, 'GET', `/v1.0/users/${deltaUser}/calendarView/delta`, { token });
      expect(noRange.status).toBe(400);
      expect(noRange.body.error.code).toBe('ErrorInvalidParameter');
      const select = await call(sim, 'GET', `/v1.0/users/${deltaUser}/calendarView/delta?${range}&$select=subject`, {
        token,
      });
      expect(select.status).toBe(400);
    });
  });

  it('answers unknown paths and methods with Graph errors, never a crash', async () => {
    const unknown = await call(sim, 'GET', '/v1.0/users/x/mailFolders', { token });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/Resource not found for the segment/);
    const method = await call(sim, 'PUT', `/v1.0/subscriptions`, { token, json: {} });
    expect(method.status).toBe(405);
    const huge = await call(sim, 'POST', '/v1.0/$batch', {
      token,
      raw: 'x'.repeat(5 * 1024 * 1024),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(huge.status).toBe(413);
  });
});
