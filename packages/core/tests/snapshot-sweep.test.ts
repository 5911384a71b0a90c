import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Collection, runRenewal } from '@graph2kafka/core';
import { syncCollection } from '../src/subscriptions/sync-collection.ts';
import { GraphSim } from '@graph2kafka/graph-sim';
import { recordValue, TopicReader, type ReadRecord } from '@graph2kafka/testkit';
import { post, startPipeline, type Pipeline } from './served-pipeline.ts';

const value = recordValue;
/** Items per kind of the first mailbox: two delta pages (graph2kafka asks for pages of 100). */
const ITEMS = 120;
/** Events of the second mailbox: three pages, so a run can stop between them. */
const SECOND_ITEMS = 250;
const day = (i: number): string => `2026-12-${String(10 + (i % 15)).padStart(2, '0')}`;

/**
 * A target's existing items reach the topic by a snapshot (paged, resumable), a notification Graph drops
 * silently is healed by the sweep alone, and a notification naming a series occurrence yields its master.
 */
describe('snapshot, sweep and occurrence notifications (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let readers: Record<'events' | 'messages' | 'contacts', TopicReader>;
  let tenantId: string;
  let first: string;
  let second: string;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 }, extraUsersPerTenant: 2 });
    tenantId = sim.defaults.tenantId;
    [first, second] = sim.directory
      .listUsers(tenantId)
      .filter((u) => u.userPrincipalName.startsWith('user-'))
      .map((u) => u.id) as [string, string];
    for (let i = 0; i < ITEMS; i++) {
      sim.createEvent(first, {
        subject: `existing event ${i}`,
        start: `${day(i)}T09:00:00Z`,
        end: `${day(i)}T10:00:00Z`,
      });
      // Messages of the whole mailbox: one delta round per folder, each of more than a page.
      sim.createItem('messages', first, { subject: `existing message ${i}` }, i % 2 ? 'inbox' : 'archive');
      sim.createItem('contacts', first, { givenName: `Existing ${i}` });
    }
    for (let i = 0; i < SECOND_ITEMS; i++)
      sim.createEvent(second, { subject: `second's ${i}`, start: `${day(i)}T11:00:00Z`, end: `${day(i)}T12:00:00Z` });
    const file = join(tmpdir(), `g2k-snapshot-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        subscriptions: [
          { kind: 'events', users: [first], sweepHours: 1 },
          { kind: 'messages', users: [first] },
          { kind: 'contacts', users: [first] },
          // Its snapshot is left to the timer below, so one run can be cut short.
          { kind: 'events', users: [second], snapshot: true },
        ],
      }),
    );
    pipe = await startPipeline(
      sim,
      { G2K_SUBSCRIPTIONS_FILE: file },
      { graphNow: () => sim.clock.now() },
      { subscribe: true },
    );
    const brokers = pipe.env.KAFKA_BROKERS!.split(',');
    readers = {
      events: pipe.reader,
      messages: await TopicReader.start(brokers, pipe.topics.messages),
      contacts: await TopicReader.start(brokers, pipe.topics.contacts),
    };
  }, 60_000);

  afterAll(async () => {
    await readers?.messages.stop();
    await readers?.contacts.stop();
    await pipe?.stop();
    await sim?.stop();
  });

  const snapshotKeys = (reader: TopicReader, user: string): string[] =>
    reader.records.filter((r) => r.key?.includes(`/${user}/`) && value(r).source === 'snapshot').map((r) => r.key!);

  it('a new target gets its existing items, every kind, over several delta pages', async () => {
    // The run that creates the subscriptions also snapshots every new target.
    const created = await pipe.app.manager!.reconcile();
    expect(created.errors).toEqual([]);
    expect(created.snapshotted.sort()).toEqual(
      [`contacts of ${first}`, `events of ${first}`, `events of ${second}`, `messages of ${first}`].sort(),
    );
    for (const kind of ['events', 'messages', 'contacts'] as const) {
      const expected = ITEMS;
      await readers[kind].waitFor(expected);
      await readers[kind].readToEnd();
      const keys = snapshotKeys(readers[kind], first);
      expect({ kind, items: new Set(keys).size, records: keys.length }).toEqual({
        kind,
        items: expected,
        records: expected,
      });
    }
    expect(new Set(snapshotKeys(readers.events, second)).size).toBe(SECOND_ITEMS);
  });

  it('a snapshot cut short by the timer deadline resumes where it stopped, each item once', async () => {
    // The second mailbox owes a snapshot again (as `graph2kafka subscriptions snapshot` would make it); the
    // timer's rounds get a deadline that passes after its first page or two of three (each Graph answer takes
    // 300 ms here).
    const [sub] = await pipe.app.manager!.operations.requestSnapshot(second, 'events');
    await readers.events.readToEnd();
    const before = readers.events.records.length;
    sim.setFaults({ latencyMs: 300 });
    const cut = await pipe.app.manager!.reconcile(undefined, 0).then(async (r) => {
      await pipe.app.manager!.resyncPending(r, Date.now() + 450);
      return r;
    });
    sim.setFaults({ latencyMs: 0 });
    expect(cut.snapshotted).toEqual([]);
    const state = (await new Collection(pipe.app.documents, syncCollection).list()).find(
      (s) => s.userId === second && !s.scope,
    )!;
    expect(state).toMatchObject({ snapshotPending: true });
    expect(state.snapshotItems).toBeGreaterThanOrEqual(100);
    expect(state.snapshotItems).toBeLessThan(SECOND_ITEMS);
    const report = await runRenewal(pipe.app);
    expect(report.snapshotted).toEqual([`events of ${second}`]);
    await readers.events.readToEnd();
    const again = readers.events.records
      .slice(before)
      .filter((r: ReadRecord) => r.key?.includes(`/${second}/`) && value(r).source === 'snapshot');
    // Each item once over both runs: the second run went on from the stored page, not from the start.
    expect(again.length).toBe(SECOND_ITEMS);
    expect(new Set(again.map((r) => r.key)).size).toBe(SECOND_ITEMS);
    expect(again.every((r) => value(r).subscriptionId === sub!.id)).toBe(true);
  });

  it('a notification Graph drops without a missed is healed by the sweep alone', async () => {
    sim.setFaults({ silentDropRate: 1 });
    const event = sim.createEvent(first, {
      subject: 'dropped silently',
      start: '2026-12-20T09:00:00Z',
      end: '2026-12-20T10:00:00Z',
    });
    await sim.settled(10_000);
    sim.setFaults({ silentDropRate: 0 });
    expect(sim.notifications({ droppedReason: 'silentDrop' }).length).toBeGreaterThan(0);
    const key = `${tenantId}/${first}/${event.immutableId}`;
    await readers.events.readToEnd();
    expect(readers.events.records.filter((r) => r.key === key)).toEqual([]);
    // Not due yet: the last round of the mailbox is minutes old, its entry's sweepHours 1.
    const early = await runRenewal(pipe.app);
    expect(early.swept).toBe(0);
    await readers.events.readToEnd();
    expect(readers.events.records.filter((r) => r.key === key)).toEqual([]);
    // An hour later (the round's time moved back), the sweep reads the mailbox's delta and finds it.
    const states = await new Collection(pipe.app.documents, syncCollection).list();
    const own = states.find((s) => s.userId === first && (s.kind ?? 'events') === 'events' && !s.scope)!;
    await new Collection(pipe.app.documents, syncCollection).put({
      ...own,
      updatedAt: new Date(Date.now() - 61 * 60_000).toISOString(),
    });
    const swept = await runRenewal(pipe.app);
    expect(swept.swept).toBe(1);
    const healed = await readers.events.waitForMatch((r) => r.key === key);
    expect(value(healed)).toMatchObject({ source: 'resync', enriched: true, event: { subject: 'dropped silently' } });
  });

  it('a notification naming a series occurrence produces its master, never a key of the occurrence', async () => {
    const master = sim.createEvent(first, {
      subject: 'Daily stand-up',
      start: '2026-12-14T09:00:00Z',
      end: '2026-12-14T09:15:00Z',
      recurrence: {
        pattern: { type: 'daily', interval: 1 },
        range: { type: 'numbered', startDate: '2026-12-14', numberOfOccurrences: 3 },
      },
    });
    const m = master.immutableId;
    await readers.events.waitForMatch((r) => r.key === `${tenantId}/${first}/${m}`);
    await readers.events.readToEnd();
    const before = readers.events.records.length;
    const occurrence = `${m}_20261215T090000Z`;
    const sub = (await pipe.app.subscriptions.list()).find(
      (r) => !r.pending && r.userId === first && (r.kind ?? 'events') === 'events',
    )!;
    const res = await post(
      pipe.url,
      JSON.stringify({
        value: [
          {
            subscriptionId: sub.id,
            changeType: 'updated',
            resource: `Users/${first}/Events/${occurrence}`,
            clientState: sub.clientState,
            tenantId,
          },
        ],
      }),
    );
    expect(res.status).toBe(202);
    await pipe.app.repairer.drain(Date.now() + 20_000);
    const repaired = await readers.events.waitForMatch(
      (r) => r.key === `${tenantId}/${first}/${m}` && value(r).source === 'repair',
    );
    expect(value(repaired)).toMatchObject({ event: { id: m, type: 'seriesMaster' } });
    await readers.events.readToEnd();
    expect(readers.events.records.slice(before).filter((r) => r.key?.includes(occurrence))).toEqual([]);
  });
});
