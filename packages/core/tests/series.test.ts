import { Collection, runRenewal } from '@graph2kafka/core';
import { seriesCollection, seriesDueCollection, seriesOwnerPrefix } from '../src/series/series-collections.ts';
import { GraphSim } from '@graph2kafka/graph-sim';
import { recordValue as value, simCall, simToken, type ReadRecord } from '@graph2kafka/testkit';
import { post, startExpansionPipeline, type Pipeline } from './served-pipeline.ts';

const DAY = 86_400_000;
/** The window of the entry below: today and the next 35 days (whole UTC days). */
const FUTURE_DAYS = 35;

interface ViewItem {
  id: string;
  type: string;
  subject: string;
  seriesMasterId: string | null;
  start: { dateTime: string };
}

/**
 * Recurring series through the served app with occurrence expansion on: the master's records as before, and
 * the occurrences of the window as records of their own, kept equal to what Graph's calendarView shows.
 */
describe('recurring series end to end (served app, real Kafka, graph-sim, expandOccurrences)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let userId: string;
  let tenantId: string;
  let token: string;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 }, tokenLifetimeMinutes: { min: 20_000, max: 20_000 } });
    userId = sim.defaults.users[0]!.id;
    tenantId = sim.defaults.tenantId;
    token = await simToken(sim);
    pipe = await startExpansionPipeline(sim, userId, FUTURE_DAYS);
  }, 60_000);

  afterAll(async () => {
    await pipe?.stop();
    await sim?.stop();
  });

  /** What Graph's calendarView of the expansion window shows of one series. */
  const calendarView = async (masterId: string): Promise<ViewItem[]> => {
    const today = Math.floor(sim.clock.now() / DAY) * DAY;
    const items: ViewItem[] = [];
    let next: string | undefined =
      `/v1.0/users/${userId}/calendarView?startDateTime=${new Date(today).toISOString()}&endDateTime=${new Date(today + (FUTURE_DAYS + 1) * DAY).toISOString()}&$top=100`;
    while (next) {
      const res = await simCall(sim, 'GET', next, undefined, {
        Authorization: `Bearer ${token}`,
        Prefer: 'IdType="ImmutableId"',
      });
      const body = res.body as { value: ViewItem[]; '@odata.nextLink'?: string };
      items.push(...body.value);
      next = body['@odata.nextLink']?.slice(body['@odata.nextLink'].indexOf('/v1.0'));
    }
    return items.filter((i) => i.seriesMasterId === masterId);
  };

  /** The occurrence records of a series as a compacted topic keeps them: the last record per key, if not a tombstone. */
  const liveOccurrences = (masterId: string): Map<string, Record<string, unknown>> => {
    const live = new Map<string, Record<string, unknown>>();
    for (const r of pipe.reader.records.filter((x) => x.headers['g2k-series-master-id'] === masterId)) {
      if (r.value === null) live.delete(r.key!);
      else live.set(r.key!, value(r));
    }
    return live;
  };
  const keyOf = (id: string): string => `${tenantId}/${userId}/${id}`;

  /** Lets Graph deliver, then runs the follow-up expansion to the end. */
  const settle = async (): Promise<void> => {
    await sim.settled();
    // Lifecycle actions (graph-sim's `missed` after drops) run after their POST's answer: their resyncs first.
    await pipe.app.idle();
    const report = await pipe.app.series.drain(Date.now() + 30_000);
    expect(report.failed).toBe(0);
  };

  /** The stream's occurrences equal calendarView's: same ids, subjects and starts. */
  const expectStreamEqualsView = async (masterId: string): Promise<ViewItem[]> => {
    const view = await calendarView(masterId);
    // Everything produced so far has been read.
    await pipe.reader.readToEnd();
    const live = liveOccurrences(masterId);
    expect([...live.keys()].sort()).toEqual(view.map((v) => keyOf(v.id)).sort());
    for (const v of view)
      expect(live.get(keyOf(v.id))).toMatchObject({
        kind: 'events',
        source: 'expansion',
        eventId: v.id,
        seriesMasterId: masterId,
        event: { id: v.id, type: v.type, subject: v.subject, start: v.start, seriesMasterId: masterId },
      });
    return view;
  };

  const waitRecords = async (n: number): Promise<ReadRecord[]> => pipe.reader.waitFor(n);

  it('a weekly series: master records as before, and with expansion exactly the occurrences calendarView shows', async () => {
    const now = sim.clock.now();
    // Four Mondays from the next one on: all inside the 35-day window.
    const firstMonday = new Date(Math.floor(now / DAY) * DAY + ((8 - new Date(now).getUTCDay()) % 7 || 7) * DAY);
    const day = (offset: number) => new Date(firstMonday.getTime() + offset * DAY).toISOString().slice(0, 10);
    const stamp = (offset: number) => `${day(offset).replace(/-/g, '')}T090000Z`;
    const master = sim.createEvent(userId, {
      subject: 'Weekly sync',
      start: `${day(0)}T09:00:00Z`,
      end: `${day(0)}T09:30:00Z`,
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
        range: { type: 'numbered', startDate: day(0), numberOfOccurrences: 4 },
      },
    });
    const m = master.immutableId;
    const occ = (weeks: number) => `${m}_${stamp(weeks * 7)}`;
    // How Graph names a cancelled occurrence in the master's cancelledOccurrences: OID.{master id}.{original date}.
    const cancelledName = (weeks: number) => `OID.${m}.${day(weeks * 7)}`;
    const created = await pipe.reader.waitForMatch((r) => r.key === keyOf(m));
    expect(value(created)).toMatchObject({
      source: 'notification',
      changeType: 'created',
      event: { id: m, type: 'seriesMaster', cancelledOccurrences: [] },
    });
    await settle();
    expect((await expectStreamEqualsView(m)).map((v) => v.id)).toEqual([occ(0), occ(1), occ(2), occ(3)]);
    // No notification, resync or repair record is keyed by an occurrence: those are the expansion's.
    expect(
      pipe.reader.records.filter((r) => r.key?.startsWith(keyOf(`${m}_`)) && value(r)?.source !== 'expansion'),
    ).toEqual([]);

    // One occurrence cancelled: a tombstone of its key, and the master names it.
    sim.deleteEvent(userId, occ(1));
    await settle();
    await expectStreamEqualsView(m);
    const tombstone = pipe.reader.records.find((r) => r.key === keyOf(occ(1)) && r.value === null);
    expect(tombstone?.headers).toMatchObject({ 'g2k-source': 'expansion', 'g2k-series-master-id': m });
    const masterRecords = pipe.reader.records.filter((r) => r.key === keyOf(m));
    expect(value(masterRecords.at(-1))).toMatchObject({ event: { cancelledOccurrences: [cancelledName(1)] } });

    // One moved a day later: an exception under its own (occurrence) key, at its new time.
    sim.updateEvent(userId, occ(2), { start: `${day(15)}T11:00:00Z`, end: `${day(15)}T11:30:00Z` });
    await settle();
    const afterMove = await expectStreamEqualsView(m);
    expect(afterMove.find((v) => v.id === occ(2))).toMatchObject({
      type: 'exception',
      start: { dateTime: `${day(15)}T11:00:00.0000000` },
    });

    // The exception edited on its own.
    sim.updateEvent(userId, occ(2), { subject: 'Weekly sync (offsite)' });
    await settle();
    expect((await expectStreamEqualsView(m)).find((v) => v.id === occ(2))!.subject).toBe('Weekly sync (offsite)');

    // The series shortened to three: the last occurrence's tombstone.
    sim.updateEvent(userId, master.id, {
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
        range: { type: 'numbered', startDate: day(0), numberOfOccurrences: 3 },
      },
    });
    await settle();
    expect((await expectStreamEqualsView(m)).map((v) => v.id)).toEqual([occ(0), occ(2)]);
    expect(pipe.reader.records.some((r) => r.key === keyOf(occ(3)) && r.value === null)).toBe(true);

    // Missed while the series changed: the resync gives the master (never its occurrences), the expansion the rest.
    const sub = (await pipe.app.subscriptions.list()).find((r) => !r.pending && r.kind === 'events')!;
    const before = pipe.reader.records.length;
    sim.setEndpointState(pipe.url, 'drop', 60_000);
    sim.updateEvent(userId, master.id, { subject: 'Weekly sync (renamed)' });
    sim.deleteEvent(userId, occ(0));
    const single = sim.createEvent(userId, {
      subject: 'one-off',
      start: `${day(2)}T12:00:00Z`,
      end: `${day(2)}T13:00:00Z`,
    });
    await pipe.app.manager!.lifecycle.handle('missed', sub.id, Date.now() + 20_000);
    sim.setEndpointState(pipe.url, 'normal', 0);
    await settle();
    const resynced = (await waitRecords(before + 1)).slice(before).filter((r) => value(r)?.source === 'resync');
    expect(resynced.map((r) => r.key).sort()).toEqual([keyOf(m), keyOf(single.immutableId)].sort());
    expect(value(resynced.find((r) => r.key === keyOf(m)))).toMatchObject({
      event: {
        type: 'seriesMaster',
        subject: 'Weekly sync (renamed)',
        cancelledOccurrences: [cancelledName(0), cancelledName(1)],
      },
    });
    const view = await expectStreamEqualsView(m);
    expect(view.map((v) => [v.id, v.subject])).toEqual([[occ(2), 'Weekly sync (offsite)']]);

    // The series deleted: its master's tombstone and its occurrences'.
    sim.deleteEvent(userId, master.id);
    await settle();
    await pipe.reader.waitForMatch((r) => r.key === keyOf(m) && r.value === null);
    await pipe.reader.waitForMatch((r) => r.key === keyOf(occ(2)) && r.value === null);
    expect(liveOccurrences(m).size).toBe(0);
    expect(
      await new Collection(pipe.app.documents, seriesCollection).get({ tenantId, userId, masterId: m }),
    ).toBeUndefined();
  }, 60_000);

  it('re-expands a series only when its master changed: a replayed `updated` of it produces the master alone', async () => {
    const start = new Date(Math.floor(sim.clock.now() / DAY) * DAY + 2 * DAY).toISOString().slice(0, 10);
    const master = sim.createEvent(userId, {
      subject: 'Daily check-in',
      start: `${start}T08:00:00Z`,
      end: `${start}T08:15:00Z`,
      recurrence: {
        pattern: { type: 'daily', interval: 1 },
        range: { type: 'numbered', startDate: start, numberOfOccurrences: 5 },
      },
    });
    const m = master.immutableId;
    await pipe.reader.waitForMatch((r) => r.key === keyOf(m));
    await settle();
    await expectStreamEqualsView(m);
    const before = pipe.reader.records.length;
    const instanceReads = () => sim.records.requests.all().filter((r) => r.path.includes(`${m}/instances`)).length;
    const readsBefore = instanceReads();
    // What a clientState holder can send: the subscription's own `updated` for the master, again and again.
    const sub = (await pipe.app.subscriptions.list()).find((r) => !r.pending && r.userId === userId)!;
    const replay = {
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: sub.expirationDateTime,
      changeType: 'updated',
      resource: `Users/${userId}/Events/${m}`,
      clientState: sub.clientState,
      tenantId: sub.tenantId,
    };
    for (let i = 0; i < 3; i++) expect((await post(pipe.url, JSON.stringify({ value: [replay] }))).status).toBe(202);
    await settle();
    await pipe.reader.readToEnd();
    const after = pipe.reader.records.slice(before);
    expect(after.filter((r) => r.headers['g2k-source'] === 'expansion')).toEqual([]);
    expect(after.every((r) => r.key === keyOf(m))).toBe(true);
    expect(instanceReads()).toBe(readsBefore);
    // A real change of the master still reaches every occurrence.
    sim.updateEvent(userId, m, { subject: 'Daily check-in (new room)' });
    await settle();
    const view = await expectStreamEqualsView(m);
    expect(view.map((v) => v.subject)).toEqual(view.map(() => 'Daily check-in (new room)'));
  });

  it('an expansion Graph refuses stays due, tombstones nothing, and completes once Graph answers', async () => {
    const today = Math.floor(sim.clock.now() / DAY) * DAY;
    const start = new Date(today + 2 * DAY).toISOString().slice(0, 10);
    const master = sim.createEvent(userId, {
      subject: 'Fortnightly',
      start: `${start}T15:00:00Z`,
      end: `${start}T16:00:00Z`,
      recurrence: {
        pattern: {
          type: 'weekly',
          interval: 2,
          daysOfWeek: [
            new Date(`${start}T00:00:00Z`)
              .toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' })
              .toLowerCase(),
          ],
        },
        range: { type: 'numbered', startDate: start, numberOfOccurrences: 2 },
      },
    });
    const m = master.immutableId;
    const ref = { tenantId, userId, masterId: m };
    // Graph keeps failing the series read (503, then a 404 that is not "no such item": the mailbox, not the series).
    sim.addFaultRule({ pathContains: `${m}/instances`, status: 503, retryAfterSeconds: 1, count: 100 });
    await pipe.reader.waitForMatch((r) => r.key === keyOf(m));
    await sim.settled();
    const failed = await pipe.app.series.drain(Date.now() + 1_500);
    expect(failed).toMatchObject({ failed: 1, expanded: 0 });
    expect(await new Collection(pipe.app.documents, seriesDueCollection).get(ref)).toMatchObject({
      attempts: expect.any(Number),
    });
    sim.clearFaults();
    sim.addFaultRule({ pathContains: `${m}/instances`, status: 404, count: 100 });
    expect(await pipe.app.series.drain(Date.now() + 10_000)).toMatchObject({ failed: 1, gone: 0 });
    expect((await new Collection(pipe.app.documents, seriesDueCollection).get(ref))!.attempts).toBeGreaterThanOrEqual(
      2,
    );
    await pipe.reader.readToEnd();
    expect(liveOccurrences(m).size).toBe(0);
    // Graph answers again: the due expansion completes, and the marker goes.
    sim.clearFaults();
    expect(await pipe.app.series.drain(Date.now() + 10_000)).toMatchObject({ failed: 0, expanded: 1 });
    await expectStreamEqualsView(m);
    expect(liveOccurrences(m).size).toBe(2);
    expect(await new Collection(pipe.app.documents, seriesDueCollection).get(ref)).toBeUndefined();
  }, 60_000);

  it('a timer run whose window moved adds the next occurrences, and forgets past ones without a tombstone', async () => {
    const today = Math.floor(sim.clock.now() / DAY) * DAY;
    const start = new Date(today + DAY).toISOString().slice(0, 10);
    const master = sim.createEvent(userId, {
      subject: 'Daily standup',
      start: `${start}T08:00:00Z`,
      end: `${start}T08:15:00Z`,
      recurrence: { pattern: { type: 'daily', interval: 1 }, range: { type: 'noEnd', startDate: start } },
    });
    const m = master.immutableId;
    await pipe.reader.waitForMatch((r) => r.key === keyOf(m));
    await settle();
    expect((await expectStreamEqualsView(m)).length).toBe(FUTURE_DAYS);
    const requestsBefore = pipe.app.series.stats.graphRequests;
    const produced = pipe.reader.records.length;

    // Every expanded series of the mailbox moves with the window (this one and the one before).
    const expanded = (
      await new Collection(pipe.app.documents, seriesCollection).list({
        prefix: seriesOwnerPrefix(tenantId, userId),
        limit: 100,
      })
    ).filter((s) => s.to);
    expect(expanded.length).toBeGreaterThanOrEqual(1);
    await pipe.app.idle();
    sim.clock.advance(3 * DAY);
    await sim.settled(20_000);
    const report = await runRenewal(pipe.app);
    expect(report.tasks.series).toMatchObject({ failed: 0 });
    // The timer's advance moves each window, unless a drain the run started first (its sweep re-producing the
    // master, a due expansion on the new day) already did: either way every series moved once, read once.
    await pipe.app.idle();
    const moved = await new Collection(pipe.app.documents, seriesCollection).list({
      prefix: seriesOwnerPrefix(tenantId, userId),
      limit: 100,
    });
    expect(moved.filter((s) => s.to && Date.parse(s.advanceAt!) > sim.clock.now())).toHaveLength(expanded.length);
    // One /instances read per series; only the three days that came into view are produced for this one.
    expect(pipe.app.series.stats.graphRequests - requestsBefore).toBe(expanded.length);
    const added = (await waitRecords(produced + 3))
      .slice(produced)
      .filter((r) => r.headers['g2k-series-master-id'] === m);
    expect(added.every((r) => r.value !== null)).toBe(true);
    // Keys spread over partitions: compare as a set.
    expect(added.map((r) => value(r).eventId as string).sort()).toEqual(
      [FUTURE_DAYS + 1, FUTURE_DAYS + 2, FUTURE_DAYS + 3].map(
        (d) => `${m}_${new Date(today + d * DAY).toISOString().slice(0, 10).replace(/-/g, '')}T080000Z`,
      ),
    );
    // The days that passed keep their records (history), so the stream holds more than today's view.
    const live = liveOccurrences(m);
    expect(live.size).toBe(FUTURE_DAYS + 3);
    const view = await calendarView(m);
    expect(view.every((v) => live.has(keyOf(v.id)))).toBe(true);
  }, 60_000);
});
