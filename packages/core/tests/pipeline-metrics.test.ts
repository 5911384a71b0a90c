import { runRenewal } from '@graph2kafka/core';
import { flatten } from '../src/metrics/line-exporter.ts';
import { GraphSim } from '@graph2kafka/graph-sim';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { post, startPipeline, type Pipeline } from './served-pipeline.ts';

/**
 * The metrics an operator's dashboards and alerts read, exported through OpenTelemetry's own in-memory exporter
 * while graph-sim drives real traffic with faults, compared with what graph-sim delivered and Kafka holds.
 */
describe('metrics: what the exporter receives matches graph-sim and Kafka', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let exporter: InMemoryMetricExporter;
  let reader: PeriodicExportingMetricReader;

  const exported = async (): Promise<Record<string, number>> => {
    await reader.forceFlush();
    const all = exporter.getMetrics();
    return flatten(all.at(-1)!);
  };
  const sum = (m: Record<string, number>, prefix: string): number =>
    Object.entries(m)
      .filter(([name]) => name.startsWith(prefix))
      .reduce((n, [, v]) => n + v, 0);

  beforeAll(async () => {
    // A third of all item reads throttled, without Retry-After waits long enough to matter.
    sim = await GraphSim.start({
      delivery: { batchWindowMs: 20 },
      faults: { throttleRate: 0.35, retryAfterSeconds: 5 },
    });
    exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    // A long interval: every export in this test is the forced one, so none races the assertions.
    reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    pipe = await startPipeline(
      sim,
      { G2K_SUBSCRIBE_USERS: sim.defaults.users[0]!.id },
      { meterProvider: new MeterProvider({ readers: [reader] }) },
      { subscribe: true },
    );
  });
  afterAll(async () => {
    await pipe.stop();
    await reader.shutdown();
    await sim.stop();
  });

  it('counts every item, answer, read, throttle, unenriched record, repair and timer run', async () => {
    const first = await runRenewal(pipe.app);
    expect(first.created).toHaveLength(1);
    const sub = sim.subscriptions.all()[0]!;
    const user = sim.defaults.users[0]!.id;

    const events = Array.from({ length: 30 }, (_, i) => sim.createEvent(user, { subject: `m${i}` }));
    await sim.settled();
    for (const e of events.slice(0, 10)) sim.updateEvent(user, e.id, { subject: `moved ${e.id.slice(-6)}` });
    // No answer waited for a read it shared with a background repair (each caller keeps its own deadline).
    await sim.settled();
    // Graph recovers. (A delete is confirmed by a read before its tombstone; a throttled one would be a 503.)
    sim.setFaults({ throttleRate: 0 });
    for (const e of events.slice(10, 15)) sim.deleteEvent(user, e.id);
    await sim.settled();
    // One forged POST: the subscription's id with a wrong clientState.
    const forged = await post(
      pipe.url,
      JSON.stringify({
        value: [
          {
            subscriptionId: sub.id,
            clientState: 'not-the-secret',
            tenantId: sim.defaults.tenantId,
            changeType: 'created',
            resource: `Users/${user}/Events/AAMkForged`,
          },
        ],
      }),
    );
    expect(forged.status).toBe(202);

    const delivered = sim.records.attempts.all().filter((a) => a.kind === 'change' && a.outcome === 'delivered');
    const deliveredItems = delivered.reduce((n, a) => n + a.notificationIds.length, 0);
    expect(deliveredItems).toBe(45);
    let m = await exported();
    // Every POST was answered only after Kafka acknowledged its records: the topic holds what was counted.
    const records = await pipe.reader.waitFor(m[`g2k.kafka.records{topic=${pipe.topic}}`]!);
    expect(records).toHaveLength(m[`g2k.kafka.records{topic=${pipe.topic}}`]!);
    // Every change record, tombstones aside, carries the notification it came from.
    const changeRecords = records.filter((r) => r.headers['g2k-tombstone'] !== 'true');
    // Records that went out without their item say why (a confirmed delete has no item and no reason).
    const unenrichedInKafka = changeRecords.filter((r) => JSON.parse(r.value!).notEnrichedReason !== null);

    expect(m['g2k.notifications{outcome=produced}']).toBe(deliveredItems);
    expect(new Set(changeRecords.map((r) => r.headers['g2k-notification-id'])).size).toBe(deliveredItems);
    expect(m['g2k.notifications{outcome=rejected,reason=client_state_mismatch}']).toBe(1);
    expect(m['g2k.posts{status=202}']).toBe(delivered.length + 1);
    expect(m['g2k.answer.duration{status=202}.count']).toBe(delivered.length + 1);
    expect(sum(m, 'g2k.posts{status=5')).toBe(0);
    expect(unenrichedInKafka.length).toBeGreaterThan(0);
    expect(sum(m, 'g2k.unenriched{')).toBe(unenrichedInKafka.length);
    expect(m['g2k.unenriched{reason=throttled}']).toBe(
      unenrichedInKafka.filter((r) => JSON.parse(r.value!).notEnrichedReason === 'throttled').length,
    );
    // Graph's side: every HTTP request graph2kafka sent to Graph (not the token endpoint), and the throttled reads.
    const graphPath = new URL(sim.urls.graph).pathname;
    const toGraph = sim.records.requests.all().filter((r) => !r.batchId && r.path.startsWith(graphPath));
    expect(sum(m, 'g2k.graph.requests{')).toBe(toGraph.length);
    const throttledItems = sim.records.requests.all().filter((r) => r.batchId && r.status === 429).length;
    expect(throttledItems).toBeGreaterThan(0);
    expect(m['g2k.graph.throttled{source=batch_item}']).toBe(throttledItems);
    expect(m['g2k.kafka.send.duration{result=ok}.count']).toBeGreaterThan(0);
    expect(m['g2k.kafka.send.duration{result=failed}.count']).toBeUndefined();
    expect(m['g2k.timer.runs{result=ok}']).toBe(1);
    expect(m['g2k.timer.last_run.ok']).toBe(1);
    expect(m['g2k.subscriptions{kind=events,state=active}']).toBe(1);
    expect(m['g2k.subscriptions.next_expiry']).toBeGreaterThan(48 * 3_600);

    // The next timer run repairs every unenriched record.
    const second = await runRenewal(pipe.app);
    expect(second.tasks.repair?.left).toBe(0);
    m = await exported();
    const repairs = (m['g2k.repairs{result=repaired}'] ?? 0) + (m['g2k.repairs{result=gone}'] ?? 0);
    // Every unenriched key was repaired; a repair completed an unenriched record (a key queued again while a run
    // was reading it is repaired again, not dropped) or read again a key the fence sent back (a read that may have
    // lost a race, or one that found an item gone just after its change).
    const rereads = sum(m, 'g2k.fence{outcome=overtaken') + sum(m, 'g2k.fence{outcome=gone_after_change');
    expect(repairs).toBeGreaterThanOrEqual(new Set(unenrichedInKafka.map((r) => r.key)).size);
    expect(repairs).toBeLessThanOrEqual(unenrichedInKafka.length + rereads);
    expect(m['g2k.timer.runs{result=ok}']).toBe(2);
  }, 90_000);
});
