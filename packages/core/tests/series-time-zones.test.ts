import { GraphSim } from '@graph2kafka/graph-sim';
import { recordValue as value, simCall, simToken } from '@graph2kafka/testkit';
import { startExpansionPipeline, type Pipeline } from './served-pipeline.ts';

const DAY = 86_400_000;
const FUTURE_DAYS = 35;
/** Graph's clock for this file: a Monday a fortnight before the US DST change (14 March 2027) and four weeks
 * before the EU's (28 March 2027), so the expansion window crosses both. */
const MONDAY = Date.parse('2027-03-01T12:00:00Z');

interface Shown {
  id: string;
  originalStart: string;
  start: { dateTime: string; timeZone: string };
  end: { dateTime: string };
}

/**
 * Series kept in their own time zones, end to end: occurrence records at 09:00 local whatever DST does (their
 * UTC start moving by an hour), equal to Graph's /instances; an all-day series; and a cancelled occurrence that a
 * consumer can join to the occurrence records as docs/record-format.md says.
 */
describe('series across time zones and DST (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let userId: string;
  let tenantId: string;
  let token: string;

  beforeAll(async () => {
    sim = await GraphSim.start({
      clockStartMs: MONDAY,
      delivery: { batchWindowMs: 20 },
      tokenLifetimeMinutes: { min: 20_000, max: 20_000 },
    });
    userId = sim.defaults.users[0]!.id;
    tenantId = sim.defaults.tenantId;
    token = await simToken(sim);
    pipe = await startExpansionPipeline(sim, userId, FUTURE_DAYS);
  }, 60_000);

  afterAll(async () => {
    await pipe?.stop();
    await sim?.stop();
  });

  const keyOf = (id: string): string => `${tenantId}/${userId}/${id}`;

  /** Graph's /instances of the expansion window. */
  const instances = async (masterId: string): Promise<Shown[]> => {
    const from = new Date(Math.floor(sim.clock.now() / DAY) * DAY).toISOString();
    const to = new Date(Math.floor(sim.clock.now() / DAY) * DAY + (FUTURE_DAYS + 1) * DAY).toISOString();
    const res = await simCall(
      sim,
      'GET',
      `/v1.0/users/${userId}/events/${masterId}/instances?startDateTime=${from}&endDateTime=${to}`,
      undefined,
      { Authorization: `Bearer ${token}`, Prefer: 'IdType="ImmutableId"' },
    );
    return (res.body as { value: Shown[] }).value;
  };

  /** The occurrence records a compacted topic keeps of a series, by key (tombstoned ones gone). */
  const live = async (masterId: string): Promise<Map<string, Record<string, unknown>>> => {
    await sim.settled();
    expect((await pipe.app.series.drain(Date.now() + 30_000)).failed).toBe(0);
    await pipe.reader.readToEnd();
    const kept = new Map<string, Record<string, unknown>>();
    for (const r of pipe.reader.records.filter((x) => x.headers['g2k-series-master-id'] === masterId))
      if (r.value === null) kept.delete(r.key!);
      else kept.set(r.key!, value(r));
    return kept;
  };

  const weeklyAtNine = (timeZone: string, utcStart: string) =>
    sim.createEvent(userId, {
      subject: `Weekly 09:00 ${timeZone}`,
      timeZone,
      start: utcStart,
      end: new Date(Date.parse(utcStart) + 30 * 60_000).toISOString(),
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
        range: { type: 'numbered', startDate: '2027-03-01', numberOfOccurrences: 6 },
      },
    });

  it.each([
    // Pacific: 17:00Z until the US change on 14 March, 16:00Z after it.
    ['Pacific Standard Time', '2027-03-01T17:00:00Z', ['17', '17', '16', '16', '16', '16']],
    // W. Europe: 08:00Z until the EU change on 28 March, 07:00Z after it.
    ['W. Europe Standard Time', '2027-03-01T08:00:00Z', ['08', '08', '08', '08', '07', '07']],
  ])('%s: occurrence records at 09:00 local across DST, equal to /instances', async (zone, start, utcHours) => {
    const master = weeklyAtNine(zone, start);
    await pipe.reader.waitForMatch((r) => r.key === keyOf(master.immutableId));
    const kept = await live(master.immutableId);
    const shown = await instances(master.immutableId);
    expect(shown.map((o) => o.start.dateTime.slice(11, 13))).toEqual(utcHours);
    expect([...kept.keys()].sort()).toEqual(shown.map((o) => keyOf(o.id)).sort());
    for (const o of shown)
      expect(kept.get(keyOf(o.id))).toMatchObject({
        source: 'expansion',
        seriesMasterId: master.immutableId,
        event: { id: o.id, type: 'occurrence', start: o.start, end: o.end, originalStart: o.originalStart },
      });
  });

  it('an all-day series: one record per date, midnight to midnight, the DST day included', async () => {
    const master = sim.createEvent(userId, {
      subject: 'On call',
      isAllDay: true,
      timeZone: 'Pacific Standard Time',
      start: '2027-03-13T00:00:00-08:00',
      end: '2027-03-14T00:00:00-08:00',
      recurrence: {
        pattern: { type: 'daily', interval: 1 },
        range: { type: 'numbered', startDate: '2027-03-13', numberOfOccurrences: 3 },
      },
    });
    await pipe.reader.waitForMatch((r) => r.key === keyOf(master.immutableId));
    const kept = [...(await live(master.immutableId)).values()] as Array<{
      event: { start: { dateTime: string }; end: { dateTime: string }; isAllDay: boolean };
    }>;
    expect(kept.map((v) => [v.event.start.dateTime, v.event.end.dateTime, v.event.isAllDay]).sort()).toEqual([
      ['2027-03-13T00:00:00.0000000', '2027-03-14T00:00:00.0000000', true],
      ['2027-03-14T00:00:00.0000000', '2027-03-15T00:00:00.0000000', true],
      ['2027-03-15T00:00:00.0000000', '2027-03-16T00:00:00.0000000', true],
    ]);
  });

  it('a cancelled occurrence: tombstoned, and named in the master as OID.{master}.{date} a consumer can join on', async () => {
    const master = weeklyAtNine('Pacific Standard Time', '2027-03-01T17:00:00Z');
    const m = master.immutableId;
    await pipe.reader.waitForMatch((r) => r.key === keyOf(m));
    expect((await live(m)).size).toBe(6);
    const third = (await instances(m))[2]!;
    sim.deleteEvent(userId, third.id);
    const kept = await live(m);
    expect(kept.has(keyOf(third.id))).toBe(false);
    const masterRecord = pipe.reader.records.filter((r) => r.key === keyOf(m)).at(-1);
    const { event } = value(masterRecord) as {
      event: { cancelledOccurrences: string[]; recurrence: { range: { recurrenceTimeZone: string } } };
    };
    expect(event.cancelledOccurrences).toEqual([`OID.${m}.2027-03-15`]);
    const lastOfThird = pipe.reader.records
      .filter((r) => r.key === keyOf(third.id) && r.value !== null && value(r).event)
      .at(-1);
    const occurrence = value(lastOfThird) as {
      seriesMasterId: string;
      event: { originalStart: string; occurrenceId: string };
    };
    // Directly: the occurrence record's event.occurrenceId is the name the master lists.
    expect(occurrence.event.occurrenceId).toBe(event.cancelledOccurrences[0]);
    // Or, from the times alone:
    const localDate = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'America/Los_Angeles',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    }).format(new Date(occurrence.event.originalStart));
    expect(event.recurrence.range.recurrenceTimeZone).toBe('Pacific Standard Time');
    expect(`OID.${occurrence.seriesMasterId}.${localDate}`).toBe(event.cancelledOccurrences[0]);
  });
});
