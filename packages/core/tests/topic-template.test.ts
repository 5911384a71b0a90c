import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GraphSim } from '@graph2kafka/graph-sim';
import { recordValue, TopicReader } from '@graph2kafka/testkit';
import { startPipeline, type Pipeline } from './served-pipeline.ts';

/**
 * G2K_TOPIC_TEMPLATE with `{tenant}`: each tenant's change records, lifecycle records and dead letters in topics
 * of its own, none of another tenant's in them, and the operator's dead-letter tools reading every tenant's.
 */
describe('per-tenant topics from a template: two tenants, one app (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let tenants: Array<{ tenantId: string; userId: string }>;
  const readers = new Map<string, TopicReader>();
  const template = `test.tpl${process.pid}x${Date.now()}.{tenant}.{kind}`;
  const topicOf = (tenantId: string, kind: string) => template.replace('{tenant}', tenantId).replace('{kind}', kind);
  const reader = (tenantId: string, kind: string) => readers.get(topicOf(tenantId, kind))!;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    const users = sim.directory.listUsers();
    const home = users.find((u) => u.tenantId === sim.defaults.tenantId)!;
    const other = users.find((u) => u.tenantId !== sim.defaults.tenantId)!;
    tenants = [home, other].map((u) => ({ tenantId: u.tenantId, userId: u.id }));
    const file = join(tmpdir(), `g2k-template-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        subscriptions: tenants.map((t) => ({ tenant: t.tenantId, kind: 'events', users: [t.userId], snapshot: false })),
      }),
    );
    pipe = await startPipeline(
      sim,
      // Small enough for a long subject (which no reduction removes) to be a dead letter.
      { G2K_SUBSCRIPTIONS_FILE: file, G2K_TOPIC_TEMPLATE: template, G2K_MAX_RECORD_BYTES: '10000' },
      { graphNow: () => sim.clock.now() },
      { subscribe: true },
    );
    const brokers = pipe.env.KAFKA_BROKERS!.split(',');
    readers.set(pipe.topic, pipe.reader);
    for (const t of tenants)
      for (const kind of ['events', 'lifecycle', 'deadletter']) {
        const topic = topicOf(t.tenantId, kind);
        if (!readers.has(topic)) readers.set(topic, await TopicReader.start(brokers, topic));
      }
  }, 90_000);

  afterAll(async () => {
    for (const [topic, r] of readers) if (topic !== pipe?.topic) await r.stop();
    await pipe?.stop();
    await sim?.stop();
  });

  it('each tenant’s changes go to its own events topic, and only there', async () => {
    expect(pipe.topic).toBe(topicOf(tenants[0]!.tenantId, 'events'));
    const report = await pipe.app.manager!.reconcile();
    expect(report.errors).toEqual([]);
    const created = tenants.map((t) => sim.createEvent(t.userId, { subject: `for ${t.tenantId}` }));
    await sim.settled();
    for (const [i, t] of tenants.entries()) {
      const [record] = await reader(t.tenantId, 'events').waitFor(1);
      expect(record!.key).toBe(`${t.tenantId}/${t.userId}/${created[i]!.immutableId}`);
      expect(recordValue(record)).toMatchObject({ tenantId: t.tenantId, event: { subject: `for ${t.tenantId}` } });
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const t of tenants)
      expect(reader(t.tenantId, 'events').records.map((r) => recordValue(r).tenantId)).toEqual([t.tenantId]);
  });

  it('lifecycle records and dead letters follow the same rule; the dead-letter tools read every tenant’s topic', async () => {
    const [home, other] = tenants;
    const subscription = sim.subscriptions.forMailbox(other!.userId)[0]!;
    // Not `missed`: its resync would read the large event again, and dead-letter it once more.
    sim.lifecycle(subscription.id, 'reauthorizationRequired');
    const big = sim.createEvent(other!.userId, { subject: 'x'.repeat(20_000) });
    await sim.settled();
    const [lifecycle] = await reader(other!.tenantId, 'lifecycle').waitFor(1);
    expect(recordValue(lifecycle)).toMatchObject({
      tenantId: other!.tenantId,
      lifecycleEvent: 'reauthorizationRequired',
    });
    const [letter] = await reader(other!.tenantId, 'deadletter').waitFor(1);
    expect(recordValue(letter)).toMatchObject({
      tenantId: other!.tenantId,
      itemId: big.immutableId,
      reason: 'record_too_large',
      topic: topicOf(other!.tenantId, 'events'),
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(reader(home!.tenantId, 'lifecycle').records).toEqual([]);
    expect(reader(home!.tenantId, 'deadletter').records).toEqual([]);

    const letters = pipe.app.deadLetters();
    expect([...letters.topics]).toEqual(tenants.map((t) => topicOf(t.tenantId, 'deadletter')).sort());
    expect((await letters.list(10)).map((l) => l.value.itemId)).toEqual([big.immutableId]);
    expect(await letters.counts()).toEqual({ total: 1, notReplayed: 1 });
  });
});
