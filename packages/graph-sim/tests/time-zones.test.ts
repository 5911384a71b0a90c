import type { GraphSim } from '../src/index.ts';
import { call, getToken, startSim } from './helpers.ts';

interface Shown {
  id: string;
  originalStart?: string;
  start: { dateTime: string; timeZone: string };
  end: { dateTime: string; timeZone: string };
}

/**
 * Series in their own time zones, as Outlook keeps them: a weekly 09:00 meeting stays at 09:00 local time across a
 * DST change, so its UTC start moves by an hour. US DST 2026 begins 8 March and ends 1 November; the EU's begins
 * 29 March and ends 25 October.
 */
describe('time zones: series, all-day events, Prefer outlook.timezone, cancelledOccurrences', () => {
  let sim: GraphSim;
  let token: string;
  let user: string;
  beforeAll(async () => {
    sim = await startSim();
    token = await getToken(sim);
    user = sim.defaults.users[0]!.id;
  });
  afterAll(() => sim.stop());

  const instances = async (id: string, from: string, to: string, prefer?: string): Promise<Shown[]> => {
    const res = await call(
      sim,
      'GET',
      `/v1.0/users/${user}/events/${id}/instances?startDateTime=${from}&endDateTime=${to}`,
      { token, ...(prefer ? { headers: { Prefer: prefer } } : {}) },
    );
    expect(res.status).toBe(200);
    return res.body.value as Shown[];
  };

  const weeklyAtNine = (timeZone: string, firstMonday: string, utcStart: string) =>
    sim.createEvent(user, {
      subject: `Weekly in ${timeZone}`,
      timeZone,
      start: utcStart,
      end: new Date(Date.parse(utcStart) + 30 * 60_000).toISOString(),
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
        range: { type: 'endDate', startDate: firstMonday, endDate: '2026-11-09' },
      },
    });

  it('a Pacific series stays at 09:00 local across both US DST changes: 17:00Z in winter, 16:00Z in summer', async () => {
    const master = weeklyAtNine('Pacific Standard Time', '2026-03-02', '2026-03-02T17:00:00Z');
    const march = await instances(master.id, '2026-03-01T00:00:00Z', '2026-03-17T00:00:00Z');
    expect(march.map((o) => o.start.dateTime)).toEqual([
      '2026-03-02T17:00:00.0000000',
      '2026-03-09T16:00:00.0000000',
      '2026-03-16T16:00:00.0000000',
    ]);
    const autumn = await instances(master.id, '2026-10-26T00:00:00Z', '2026-11-10T00:00:00Z');
    expect(autumn.map((o) => o.start.dateTime)).toEqual([
      '2026-10-26T16:00:00.0000000',
      '2026-11-02T17:00:00.0000000',
      '2026-11-09T17:00:00.0000000',
    ]);
    // Asked for in Pacific time, every one of them is at 09:00.
    const local = await instances(
      master.id,
      '2026-03-01T00:00:00Z',
      '2026-03-17T00:00:00Z',
      'outlook.timezone="Pacific Standard Time"',
    );
    expect(local.map((o) => [o.start.dateTime.slice(11, 16), o.start.timeZone])).toEqual(
      Array.from({ length: 3 }, () => ['09:00', 'Pacific Standard Time']),
    );
    const read = await call(sim, 'GET', `/v1.0/users/${user}/events/${master.id}`, { token });
    expect(read.body).toMatchObject({
      originalStartTimeZone: 'Pacific Standard Time',
      recurrence: { range: { recurrenceTimeZone: 'Pacific Standard Time' } },
    });
  });

  it('a W. Europe series moves at the EU changes, not the US ones: 08:00Z in winter, 07:00Z in summer', async () => {
    const master = weeklyAtNine('W. Europe Standard Time', '2026-03-23', '2026-03-23T08:00:00Z');
    const march = await instances(master.id, '2026-03-22T00:00:00Z', '2026-04-07T00:00:00Z');
    expect(march.map((o) => o.start.dateTime)).toEqual([
      '2026-03-23T08:00:00.0000000',
      '2026-03-30T07:00:00.0000000',
      '2026-04-06T07:00:00.0000000',
    ]);
    const october = await instances(master.id, '2026-10-19T00:00:00Z', '2026-11-03T00:00:00Z');
    expect(october.map((o) => o.start.dateTime)).toEqual([
      '2026-10-19T07:00:00.0000000',
      '2026-10-26T08:00:00.0000000',
      '2026-11-02T08:00:00.0000000',
    ]);
  });

  it('a range’s recurrenceTimeZone decides over the event’s own zone, and IANA names work as Windows ones do', async () => {
    const master = sim.createEvent(user, {
      subject: 'Range in New York',
      timeZone: 'UTC',
      start: '2026-03-02T14:00:00Z',
      end: '2026-03-02T14:30:00Z',
      recurrence: {
        pattern: { type: 'daily', interval: 7 },
        range: {
          type: 'numbered',
          startDate: '2026-03-02',
          numberOfOccurrences: 2,
          recurrenceTimeZone: 'America/New_York',
        },
      },
    });
    const shown = await instances(master.id, '2026-03-01T00:00:00Z', '2026-03-17T00:00:00Z');
    expect(shown.map((o) => o.start.dateTime)).toEqual(['2026-03-02T14:00:00.0000000', '2026-03-09T13:00:00.0000000']);
  });

  it('an all-day series keeps its dates: local midnight to midnight, shown unconverted whatever zone is preferred', async () => {
    const master = sim.createEvent(user, {
      subject: 'On call',
      isAllDay: true,
      timeZone: 'Pacific Standard Time',
      start: '2026-03-07T00:00:00-08:00',
      end: '2026-03-08T00:00:00-08:00',
      recurrence: {
        pattern: { type: 'daily', interval: 1 },
        range: { type: 'numbered', startDate: '2026-03-07', numberOfOccurrences: 3 },
      },
    });
    const shown = await instances(master.id, '2026-03-06T00:00:00Z', '2026-03-12T00:00:00Z');
    expect(shown.map((o) => [o.start.dateTime, o.end.dateTime])).toEqual([
      ['2026-03-07T00:00:00.0000000', '2026-03-08T00:00:00.0000000'],
      ['2026-03-08T00:00:00.0000000', '2026-03-09T00:00:00.0000000'],
      ['2026-03-09T00:00:00.0000000', '2026-03-10T00:00:00.0000000'],
    ]);
    // The day of the change is 23 hours long in Pacific time: its occurrence still ends at the next midnight.
    expect(shown.map((o) => o.originalStart)).toEqual([
      '2026-03-07T08:00:00.000Z',
      '2026-03-08T08:00:00.000Z',
      '2026-03-09T07:00:00.000Z',
    ]);
    const preferred = await instances(
      master.id,
      '2026-03-06T00:00:00Z',
      '2026-03-12T00:00:00Z',
      'outlook.timezone="Tokyo Standard Time"',
    );
    expect(preferred.map((o) => o.start)).toEqual(
      ['07', '08', '09'].map((d) => ({ dateTime: `2026-03-${d}T00:00:00.0000000`, timeZone: 'Tokyo Standard Time' })),
    );
  });

  it('refuses an all-day event that does not start at midnight in its zone, and an unknown zone', () => {
    expect(() =>
      sim.createEvent(user, {
        isAllDay: true,
        timeZone: 'Pacific Standard Time',
        start: '2026-03-07T00:00:00Z',
        end: '2026-03-08T00:00:00Z',
      }),
    ).toThrow(/midnight in its time zone \(Pacific Standard Time\)/);
    expect(() => sim.createEvent(user, { timeZone: 'Atlantis Standard Time' })).toThrow(/unknown time zone/);
  });

  it('cancelledOccurrences name the occurrence’s original date in the series’ zone: OID.{master}.{date}', async () => {
    // 23:30 in Pacific time is 07:30 UTC the next day: the name carries the local date.
    const master = sim.createEvent(user, {
      subject: 'Late call',
      timeZone: 'Pacific Standard Time',
      start: '2026-06-02T06:30:00Z',
      end: '2026-06-02T07:00:00Z',
      recurrence: {
        pattern: { type: 'daily', interval: 1 },
        range: { type: 'numbered', startDate: '2026-06-01', numberOfOccurrences: 3 },
      },
    });
    const [, second] = await instances(master.id, '2026-06-01T00:00:00Z', '2026-06-05T00:00:00Z');
    expect(second!.originalStart).toBe('2026-06-03T06:30:00.000Z');
    sim.deleteEvent(user, second!.id);
    const read = await call(sim, 'GET', `/v1.0/users/${user}/events/${master.id}?$select=cancelledOccurrences`, {
      token,
    });
    expect(read.body.cancelledOccurrences).toEqual([`OID.${master.id}.2026-06-02`]);
  });
});
