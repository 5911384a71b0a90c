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
      const masterNow = await call(sim, 'GET', `/v1.0/users/${other}/events/${master.id}`, { token });
      expect(masterNow.body.cancelledOccurrences).toEqual([before[1]!.id]);

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

  it('refuses a malformed recurrence when the event is created', () => {
    expect(() =>
      sim.createEvent(user, {
        subject: 'bad',
        recurrence: { pattern: { type: 'weekly', interval: 1 }, range: { type: 'noEnd', startDate: '2026-12-01' } },
      }),
    ).toThrow(/a weekly recurrence needs daysOfWeek/);
  });
});
