import type { GraphSim } from '../src/index.ts';
import { call, getToken, startSim } from './helpers.ts';

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

  it('refuses a malformed recurrence when the event is created', () => {
    expect(() =>
      sim.createEvent(user, {
        subject: 'bad',
        recurrence: { pattern: { type: 'weekly', interval: 1 }, range: { type: 'noEnd', startDate: '2026-12-01' } },
      }),
    ).toThrow(/a weekly recurrence needs daysOfWeek/);
  });
});
