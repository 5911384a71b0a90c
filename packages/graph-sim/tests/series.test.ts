import type { GraphSim } from '../src/index.ts';
import { call, getToken, Receiver, startSim, subscribe } from './helpers.ts';

/** The parts of an occurrence's JSON the assertions read. */
interface Occurrence {
  id: string;
  type: string;
  subject: string;
  seriesMasterId: string;
  originalStart: string;
  start: { dateTime: string };
  end: { dateTime: string };
}

describe('recurring series: masters, their occurrences and /instances', () => {
  let sim: GraphSim;
  let token: string;
  let user: string;
  beforeAll(async () => {
    sim = await startSim();
    token = await getToken(sim);
    user = sim.defaults.users[0]!.id;
  });
  afterAll(() => sim.stop());

  const weekly = () =>
    sim.createEvent(user, {
      subject: 'Team sync',
      start: '2026-12-07T09:30:00Z',
      end: '2026-12-07T10:00:00Z',
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday', 'wednesday'] },
        range: { type: 'numbered', startDate: '2026-12-07', numberOfOccurrences: 6 },
      },
    });

  it('a master is a seriesMaster with its recurrence; /instances expands the window with occurrence ids', async () => {
    const master = weekly();
    const got = await call(sim, 'GET', `/v1.0/users/${user}/events/${master.id}`, { token });
    expect(got.body).toMatchObject({
      type: 'seriesMaster',
      seriesMasterId: null,
      recurrence: { pattern: { type: 'weekly', daysOfWeek: ['monday', 'wednesday'] }, range: { type: 'numbered' } },
    });
    const window = 'startDateTime=2026-12-01T00:00:00Z&endDateTime=2026-12-31T00:00:00Z';
    const list = await call(sim, 'GET', `/v1.0/users/${user}/events/${master.id}/instances?${window}`, { token });
    expect(list.status).toBe(200);
    const value = list.body.value as Occurrence[];
    expect(value.map((o) => o.start.dateTime)).toEqual([
      '2026-12-07T09:30:00.0000000',
      '2026-12-09T09:30:00.0000000',
      '2026-12-14T09:30:00.0000000',
      '2026-12-16T09:30:00.0000000',
      '2026-12-21T09:30:00.0000000',
      '2026-12-23T09:30:00.0000000',
    ]);
    expect(
      value.every((o) => o.type === 'occurrence' && o.seriesMasterId === master.id && o.subject === 'Team sync'),
    ).toBe(true);
    expect(new Set(value.map((o) => o.id)).size).toBe(6);
    expect(value[0]!.end.dateTime).toBe('2026-12-07T10:00:00.0000000');

    // A narrower window: only what overlaps it.
    const narrow = await call(
      sim,
      'GET',
      `/v1.0/users/${user}/events/${master.id}/instances?startDateTime=2026-12-09T09:45:00Z&endDateTime=2026-12-15T00:00:00Z`,
      { token },
    );
    expect((narrow.body.value as Occurrence[]).map((o) => o.originalStart)).toEqual([
      '2026-12-09T09:30:00.000Z',
      '2026-12-14T09:30:00.000Z',
    ]);

    // An occurrence reads by its id, and with the immutable id flavour its master's immutable id.
    const one = await call(sim, 'GET', `/v1.0/users/${user}/events/${value[2]!.id}?$select=subject,start,type`, {
      token,
    });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      id: value[2]!.id,
      type: 'occurrence',
      start: { dateTime: '2026-12-14T09:30:00.0000000' },
    });
    const immutable = await call(sim, 'GET', `/v1.0/users/${user}/events/${master.immutableId}/instances?${window}`, {
      token,
      headers: { Prefer: 'IdType="ImmutableId"' },
    });
    expect((immutable.body.value as Occurrence[])[0]!.seriesMasterId).toBe(master.immutableId);
  });

  it('asks for the window, finds nothing under a single event, and no occurrence off the pattern', async () => {
    const master = weekly();
    const noWindow = await call(sim, 'GET', `/v1.0/users/${user}/events/${master.id}/instances`, { token });
    expect(noWindow.status).toBe(400);
    expect(noWindow.body.error.code).toBe('ErrorInvalidParameter');
    const single = sim.createEvent(user, { subject: 'once' });
    const none = await call(
      sim,
      'GET',
      `/v1.0/users/${user}/events/${single.id}/instances?startDateTime=2026-01-01T00:00:00Z&endDateTime=2028-01-01T00:00:00Z`,
      { token },
    );
    expect(none.body.value).toEqual([]);
    // A Tuesday is not in a Monday/Wednesday series.
    const off = await call(sim, 'GET', `/v1.0/users/${user}/events/${master.id}_20261208T093000Z`, { token });
    expect(off.status).toBe(404);
  });

  it('cancelling one occurrence, changing one, and shortening the series each notify as an update of the master', async () => {
    const receiver = await Receiver.start();
    const other = sim.defaults.users[1]!.id;
    try {
      const sub = await subscribe(sim, token, receiver, { userId: other });
      const master = sim.createEvent(other, {
        subject: 'Standup',
        start: '2026-12-07T09:00:00Z',
        end: '2026-12-07T09:15:00Z',
        recurrence: {
          pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
          range: { type: 'endDate', startDate: '2026-12-07', endDate: '2027-01-04' },
        },
      });
      await sim.settled();
      const window = 'startDateTime=2026-12-01T00:00:00Z&endDateTime=2027-02-01T00:00:00Z';
      const list = async () =>
        (await call(sim, 'GET', `/v1.0/users/${other}/events/${master.id}/instances?${window}`, { token })).body
          .value as Occurrence[];
      const before = await list();
      expect(before.map((o) => o.originalStart.slice(0, 10))).toEqual([
        '2026-12-07',
        '2026-12-14',
        '2026-12-21',
        '2026-12-28',
        '2027-01-04',
      ]);

      // Cancel the 14th; move the 21st to the 22nd with a new subject.
      sim.deleteEvent(other, before[1]!.id);
      sim.updateEvent(other, before[2]!.id, {
        subject: 'Standup (moved)',
        start: '2026-12-22T10:00:00Z',
        end: '2026-12-22T10:15:00Z',
      });
      await sim.settled();
      const after = await list();
      expect(
        after.map((o) => [o.originalStart.slice(0, 10), o.type, o.start.dateTime.slice(0, 16), o.subject]),
      ).toEqual([
        ['2026-12-07', 'occurrence', '2026-12-07T09:00', 'Standup'],
        ['2026-12-21', 'exception', '2026-12-22T10:00', 'Standup (moved)'],
        ['2026-12-28', 'occurrence', '2026-12-28T09:00', 'Standup'],
        ['2027-01-04', 'occurrence', '2027-01-04T09:00', 'Standup'],
      ]);
      expect((await call(sim, 'GET', `/v1.0/users/${other}/events/${before[1]!.id}`, { token })).status).toBe(404);
      const exception = await call(sim, 'GET', `/v1.0/users/${other}/events/${before[2]!.id}`, { token });
      expect(exception.body).toMatchObject({
        type: 'exception',
        subject: 'Standup (moved)',
        seriesMasterId: master.id,
      });
      // Graph names the cancelled occurrences only when asked for them by $select, on a read of the master.
      const masterNow = await call(sim, 'GET', `/v1.0/users/${other}/events/${master.id}`, { token });
      expect(masterNow.body).not.toHaveProperty('cancelledOccurrences');
      const cancelled = await call(
        sim,
        'GET',
        `/v1.0/users/${other}/events/${master.id}?$select=cancelledOccurrences`,
        { token },
      );
      // In Graph's form: OID.{master id}.{original date}, not the occurrence's event id.
      expect(cancelled.body.cancelledOccurrences).toEqual([`OID.${master.id}.2026-12-14`]);

      // The series ends two weeks earlier.
      sim.updateEvent(other, master.id, {
        recurrence: {
          pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
          range: { type: 'endDate', startDate: '2026-12-07', endDate: '2026-12-21' },
        },
      });
      await sim.settled();
      expect((await list()).map((o) => o.originalStart.slice(0, 10))).toEqual(['2026-12-07', '2026-12-21']);

      // Graph's notifications: created for the master, then one update of the master per change; none names an
      // occurrence.
      const sent = sim.notifications({ subscriptionId: sub.id, kind: 'change' });
      expect(sent.map((n) => [n.changeType, n.eventId])).toEqual([
        ['created', master.immutableId],
        ['updated', master.immutableId],
        ['updated', master.immutableId],
        ['updated', master.immutableId],
      ]);
    } finally {
      await receiver.stop();
    }
  });

  it('pages /instances as Graph does: 10 by default, $top up to 1000, a nextLink with the rest', async () => {
    const daily = sim.createEvent(user, {
      subject: 'daily',
      start: '2027-03-01T08:00:00Z',
      end: '2027-03-01T08:10:00Z',
      recurrence: {
        pattern: { type: 'daily', interval: 1 },
        range: { type: 'numbered', startDate: '2027-03-01', numberOfOccurrences: 25 },
      },
    });
    const window = 'startDateTime=2027-02-01T00:00:00Z&endDateTime=2027-05-01T00:00:00Z';
    const first = await call(sim, 'GET', `/v1.0/users/${user}/events/${daily.id}/instances?${window}`, { token });
    expect((first.body.value as Occurrence[]).length).toBe(10);
    const seen = [...(first.body.value as Occurrence[])];
    for (let next = first.body['@odata.nextLink'] as string | undefined; next;) {
      const page = await call(sim, 'GET', next.slice(next.indexOf('/v1.0')), { token });
      seen.push(...(page.body.value as Occurrence[]));
      next = page.body['@odata.nextLink'] as string | undefined;
    }
    expect(seen.map((o) => o.originalStart.slice(0, 10))).toEqual(
      Array.from({ length: 25 }, (_, i) => new Date(Date.UTC(2027, 2, 1 + i)).toISOString().slice(0, 10)),
    );
    const all = await call(sim, 'GET', `/v1.0/users/${user}/events/${daily.id}/instances?${window}&$top=100`, {
      token,
    });
    expect((all.body.value as Occurrence[]).length).toBe(25);
    expect(all.body).not.toHaveProperty('@odata.nextLink');
  });

  it('calendarView shows singles, occurrences and exceptions in the window, never the master', async () => {
    const who = user;
    const master = sim.createEvent(who, {
      subject: 'Review',
      start: '2027-06-07T14:00:00Z',
      end: '2027-06-07T15:00:00Z',
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
        range: { type: 'numbered', startDate: '2027-06-07', numberOfOccurrences: 4 },
      },
    });
    const single = sim.createEvent(who, {
      subject: 'Lunch',
      start: '2027-06-09T12:00:00Z',
      end: '2027-06-09T13:00:00Z',
    });
    sim.updateEvent(who, `${master.id}_20270614T140000Z`, { subject: 'Review (long)', end: '2027-06-14T16:00:00Z' });
    const view = await call(
      sim,
      'GET',
      `/v1.0/users/${who}/calendarView?startDateTime=2027-06-01T00:00:00Z&endDateTime=2027-06-30T00:00:00Z&$top=50`,
      { token },
    );
    expect(
      (view.body.value as Occurrence[]).map((e) => [e.type, e.subject, e.start.dateTime.slice(0, 10), e.id]),
    ).toEqual([
      ['occurrence', 'Review', '2027-06-07', `${master.id}_20270607T140000Z`],
      ['singleInstance', 'Lunch', '2027-06-09', single.id],
      ['exception', 'Review (long)', '2027-06-14', `${master.id}_20270614T140000Z`],
      ['occurrence', 'Review', '2027-06-21', `${master.id}_20270621T140000Z`],
      ['occurrence', 'Review', '2027-06-28', `${master.id}_20270628T140000Z`],
    ]);
  });

  it('calendarView/delta gives a series as its occurrences, and @removed for each that left it', async () => {
    const who = sim.defaults.users[1]!.id;
    const prefer = { Prefer: 'IdType="ImmutableId"' };
    const round = async (link: string) => {
      const items: Array<Record<string, unknown>> = [];
      for (let next: string | undefined = link; ;) {
        const page = await call(sim, 'GET', next.slice(next.indexOf('/v1.0')), { token, headers: prefer });
        items.push(...(page.body.value as Array<Record<string, unknown>>));
        if (page.body['@odata.deltaLink']) return { items, delta: page.body['@odata.deltaLink'] as string };
        next = page.body['@odata.nextLink'] as string;
      }
    };
    const master = sim.createEvent(who, {
      subject: 'Planning',
      start: '2027-09-06T10:00:00Z',
      end: '2027-09-06T11:00:00Z',
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
        range: { type: 'numbered', startDate: '2027-09-06', numberOfOccurrences: 5 },
      },
    });
    const m = master.immutableId;
    const occ = (day: string) => `${m}_${day}T100000Z`;
    const initial = await round(
      `/v1.0/users/${who}/calendarView/delta?startDateTime=2027-09-01T00:00:00Z&endDateTime=2027-10-15T00:00:00Z`,
    );
    expect(initial.items.map((i) => [i.type, i.id])).toEqual(
      ['20270906', '20270913', '20270920', '20270927', '20271004'].map((d) => ['occurrence', occ(d)]),
    );
    // Cancel one, move one out of the window, shorten the series by one.
    sim.deleteEvent(who, occ('20270913'));
    sim.updateEvent(who, occ('20270920'), { start: '2027-10-20T10:00:00Z', end: '2027-10-20T11:00:00Z' });
    sim.updateEvent(who, master.id, {
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
        range: { type: 'numbered', startDate: '2027-09-06', numberOfOccurrences: 4 },
      },
    });
    const changes = await round(initial.delta);
    const live = changes.items.filter((i) => !i['@removed']).map((i) => i.id);
    const gone = changes.items.filter((i) => i['@removed']).map((i) => i.id);
    expect(live).toEqual([occ('20270906'), occ('20270927')]);
    expect(new Set(gone)).toEqual(new Set([occ('20270913'), occ('20270920'), occ('20271004')]));
    expect(changes.items.some((i) => i.type === 'seriesMaster')).toBe(false);
    // Deleting the series reports each of its occurrences removed.
    sim.deleteEvent(who, master.id);
    const after = await round(changes.delta);
    expect(new Set(after.items.map((i) => i.id))).toEqual(new Set([occ('20270906'), occ('20270927')]));
    expect(after.items.every((i) => i['@removed'])).toBe(true);
  });

  it('refuses a malformed recurrence when the event is created', () => {
    expect(() =>
      sim.createEvent(user, {
        subject: 'bad',
        recurrence: { pattern: { type: 'weekly', interval: 1 }, range: { type: 'noEnd', startDate: '2026-12-01' } },
      }),
    ).toThrow(/a weekly recurrence needs daysOfWeek/);
  });
});
