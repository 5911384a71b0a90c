import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GraphSim } from '@graph2kafka/graph-sim';
import { ChangelogTable } from '@graph2kafka/testkit';
import { startPipeline, type Pipeline } from './served-pipeline.ts';

const day = (offset: number, from: number) => new Date(from + offset * 86_400_000).toISOString().slice(0, 10);

/**
 * G2K_VALUE_FORMAT=debezium, end to end through the served app: a consumer that materialises the topic the way
 * Flink's `debezium-json` changelog source and an upsert sink do (by `op`, tombstones delete) ends with Graph's
 * calendar — snapshot rows (`r`), inserts, updates and deletes — without a line of graph2kafka-specific code.
 */
describe('debezium value format: a changelog reader materialises Graph (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let user: string;
  const table = () =>
    new ChangelogTable((after) => ({
      kind: after.kind,
      tenantId: after.tenantId,
      userId: after.userId,
      eventId: after.eventId,
    })).apply(pipe.reader.records);
  /** Graph's calendar as the table should hold it: per key, the subject. */
  const graphState = () =>
    new Map(sim.listEvents(user).map((e) => [`${e.tenantId}/${e.userId}/${e.immutableId}`, e.event.subject as string]));
  const tableState = () =>
    new Map([...table().rows.values()].map((r) => [r.key, (r.after.event as Record<string, unknown> | null)?.subject]));

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    user = sim.defaults.users[0]!.id;
    const now = sim.clock.now();
    for (const i of [1, 2, 3])
      sim.createEvent(user, {
        subject: `existing ${i}`,
        start: `${day(i, now)}T09:00:00Z`,
        end: `${day(i, now)}T10:00:00Z`,
      });
    const file = join(tmpdir(), `g2k-debezium-${process.pid}-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ subscriptions: [{ kind: 'events', users: [user] }] }));
    pipe = await startPipeline(
      sim,
      { G2K_SUBSCRIPTIONS_FILE: file, G2K_VALUE_FORMAT: 'debezium' },
      { graphNow: () => sim.clock.now() },
      { subscribe: true },
    );
  }, 60_000);

  afterAll(async () => {
    await pipe?.stop();
    await sim?.stop();
  });

  it('the snapshot arrives as op r, and the table holds the calendar', async () => {
    const report = await pipe.app.manager!.reconcile();
    expect(report.errors).toEqual([]);
    await pipe.reader.waitFor(3);
    await pipe.reader.readToEnd();
    expect(table().ops).toEqual({ c: 0, u: 0, d: 0, r: 3, tombstone: 0 });
    expect(tableState()).toEqual(graphState());
  });

  it('inserts, updates and deletes from notifications: the table follows Graph, deletes leave no row', async () => {
    const [a, b, c] = sim.listEvents(user);
    const now = sim.clock.now();
    const added = sim.createEvent(user, {
      subject: 'added',
      start: `${day(5, now)}T09:00:00Z`,
      end: `${day(5, now)}T10:00:00Z`,
    });
    await sim.settled();
    sim.updateEvent(user, a!.id, { subject: 'existing 1 (renamed)' });
    sim.deleteEvent(user, b!.id);
    await sim.settled();
    sim.updateEvent(user, added.id, { subject: 'added (renamed)' });
    sim.deleteEvent(user, c!.id);
    await sim.settled();
    const deadline = Date.now() + 20_000;
    while (table().ops.tombstone < 2 || JSON.stringify([...tableState()]) !== JSON.stringify([...graphState()])) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await pipe.reader.readToEnd();
    pipe.reader.assertValid();
    const t = table();
    expect(new Map([...t.rows.values()].map((r) => [r.key, (r.after.event as { subject: string }).subject]))).toEqual(
      new Map([
        [`${sim.defaults.tenantId}/${user}/${a!.immutableId}`, 'existing 1 (renamed)'],
        [`${sim.defaults.tenantId}/${user}/${added.immutableId}`, 'added (renamed)'],
      ]),
    );
    expect(tableState()).toEqual(graphState());
    // Every kind of change was seen as what it is, and each delete came with the tombstone compaction needs.
    expect(t.ops.c).toBeGreaterThanOrEqual(1);
    expect(t.ops.u).toBeGreaterThanOrEqual(2);
    expect(t.ops.d).toBe(2);
    expect(t.ops.tombstone).toBe(2);
    const deletes = pipe.reader.records.filter((r) => r.value !== null && JSON.parse(r.value).op === 'd');
    for (const d of deletes) {
      const next = pipe.reader.records.find((r) => r.key === d.key && r.value === null);
      expect(next && BigInt(next.offset) > BigInt(d.offset) && next.partition === d.partition).toBe(true);
    }
  });
});
