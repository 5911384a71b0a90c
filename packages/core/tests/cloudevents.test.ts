import type { SubscriptionRecord } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { createSubscription, decodeCloudEvent, eventChangeBody, recordValue, TopicReader } from '@graph2kafka/testkit';
import { post, startPipeline, type Pipeline } from './served-pipeline.ts';

const traceId = (traceparent: string | undefined) => traceparent?.split('-')[1];

/**
 * The CloudEvents Kafka binding (binary mode) on what the function writes, checked by the CloudEvents SDK on the
 * records as a consumer reads them from a real broker: value records, their tombstones and lifecycle records.
 */
describe('CloudEvents headers, read back from real Kafka (served app, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let sub: SubscriptionRecord;
  let user: string;
  let lifecycle: TopicReader;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    pipe = await startPipeline(sim);
    user = sim.defaults.users[0]!.id;
    sub = await createSubscription(sim, pipe.app.subscriptions, {
      userId: user,
      notificationUrl: pipe.url,
      lifecycleNotificationUrl: pipe.lifecycleUrl,
    });
    lifecycle = await TopicReader.start(pipe.env.KAFKA_BROKERS!.split(','), pipe.lifecycleTopic);
  }, 60_000);
  afterAll(async () => {
    await lifecycle?.stop();
    await pipe?.stop();
    await sim?.stop();
  });

  it('a create, an update and a delete with its tombstone decode as CloudEvents with Event Grid’s attributes', async () => {
    const tenant = sim.defaults.tenantId;
    const created = sim.createEvent(user, { subject: 'CloudEvents', start: '2026-12-09T09:00:00Z' });
    await sim.settled();
    await pipe.reader.waitFor(1);
    sim.updateEvent(user, created.id, { subject: 'CloudEvents (moved)' });
    await sim.settled();
    await pipe.reader.waitFor(2);
    sim.deleteEvent(user, created.id);
    await sim.settled();
    const records = await pipe.reader.waitFor(4);
    const key = `${tenant}/${user}/${created.immutableId}`;
    const events = records.map(decodeCloudEvent);
    const notificationIds = sim.notifications({ kind: 'change', state: 'delivered' }).map((n) => n.id);

    expect(events.map((e) => e.type)).toEqual([
      'Microsoft.Graph.EventCreated',
      'Microsoft.Graph.EventUpdated',
      'Microsoft.Graph.EventDeleted',
      'Microsoft.Graph.EventDeleted',
    ]);
    for (const e of events)
      expect(e).toMatchObject({
        specversion: '1.0',
        source: `/tenants/${tenant}/applications/${sim.defaults.clientId}`,
        subject: `Events/${created.immutableId}`,
        // The Kafka binding's partitionkey: the record key, so the event stays keyed for whoever reads it.
        partitionkey: key,
      });
    // Graph's notification ids: the same on Graph's redeliveries of a notification, distinct between records.
    expect(events.slice(0, 3).map((e) => e.id)).toEqual(notificationIds);
    expect(events[3]!.id).toBe(`${events[2]!.id}.tombstone`);
    // A value record's data is the value, a tombstone has none.
    expect(events[0]!.data).toEqual(recordValue(records[0]));
    expect(events[0]).toMatchObject({
      datacontenttype: 'application/json',
      dataschema: 'urn:graph2kafka:schema:v1:events.value',
      time: recordValue(records[0]).receivedAt,
    });
    expect(records[3]!.value).toBeNull();
    expect(events[3]!.data).toBeUndefined();
    expect(events[3]!.datacontenttype).toBeUndefined();

    // The item's version beside them, where the read found the item.
    for (const r of records.slice(0, 2)) {
      const event = recordValue(r).event as { changeKey: string; lastModifiedDateTime: string };
      expect(r.headers).toMatchObject({
        'g2k-change-key': event.changeKey,
        'g2k-last-modified': event.lastModifiedDateTime,
      });
    }
    expect(records[0]!.headers['g2k-change-key']).not.toBe(records[1]!.headers['g2k-change-key']);
    // One trace per POST: the delete's two records share one, the three POSTs' differ.
    const traces = records.map((r) => traceId(r.headers.traceparent));
    expect(traces.every((t) => /^[0-9a-f]{32}$/.test(t ?? ''))).toBe(true);
    expect(traces[3]).toBe(traces[2]);
    expect(new Set(traces.slice(0, 3)).size).toBe(3);
  });

  it('a POST that carries a traceparent: its record continues that trace, with a span of graph2kafka’s', async () => {
    const event = sim.createEvent(user, { subject: 'traced' });
    await sim.settled();
    const before = pipe.reader.records.length;
    await pipe.reader.waitFor(before);
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await post(pipe.url, eventChangeBody(sub, event.immutableId), {
      'Content-Type': 'application/json',
      traceparent: incoming,
    });
    expect(res.status).toBe(202);
    const record = await pipe.reader.waitForMatch(
      (r) => r.headers.traceparent?.includes('4bf92f3577b34da6a3ce929d0e0e4736') === true,
      4_000,
    );
    expect(record.key).toBe(`${sim.defaults.tenantId}/${user}/${event.immutableId}`);
    expect(record.headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(record.headers.traceparent).not.toBe(incoming);
  });

  it('a lifecycle record decodes too, with graph2kafka’s own type (Event Grid names none for lifecycle events)', async () => {
    sim.lifecycle(sub.id, 'missed');
    await sim.settled();
    const [record] = await lifecycle.waitFor(1);
    const event = decodeCloudEvent(record!);
    expect(event).toMatchObject({
      type: 'graph2kafka.lifecycle.missed',
      source: `/tenants/${sim.defaults.tenantId}/applications/${sim.defaults.clientId}`,
      subject: `Subscriptions/${sub.id}`,
      dataschema: 'urn:graph2kafka:schema:v1:lifecycle.value',
      data: recordValue(record),
    });
  });
});
