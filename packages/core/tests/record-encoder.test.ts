import { recordSchemaError } from '@graph2kafka/testkit';
import { loadConfig } from '../src/index.ts';
import { debeziumFormat } from '../src/format/debezium-format.ts';
import { jsonFormat } from '../src/format/json-format.ts';
import { RecordEncoder } from '../src/format/record-encoder.ts';
import { TopicRouter } from '../src/kafka/topic-router.ts';
import { changeRecords, resyncRecords, type ChangeInput } from '../src/model/record.ts';
import { childTraceparent, runTraced } from '../src/trace/traceparent.ts';
import { APP, configProblems, TENANT, validEnv } from './fixtures/env.ts';

const userId = '1d5c2b8a-7e3f-4c91-b6a0-2f8e9d4c7b15';
const at = Date.parse('2026-12-04T09:00:00Z');
const item = {
  id: 'AAMkAGI2TG93AAA=',
  subject: 'Review',
  changeKey: 'DwAAABYAAAA',
  lastModifiedDateTime: '2026-12-04T08:59:58Z',
};

const change = (overrides: Partial<ChangeInput> = {}): ChangeInput => ({
  source: 'notification',
  changeType: 'updated',
  kind: 'events',
  tenantId: TENANT,
  target: { userId },
  itemId: item.id,
  resource: `Users/${userId}/Events/${item.id}`,
  subscriptionId: '40e3b8a9-f765-4a6d-8b21-276b14a46b25',
  notificationId: 'n-1',
  ...overrides,
});

const ce = new RecordEncoder({ format: jsonFormat, cloudEvents: 'binary', appId: APP });
const debezium = new RecordEncoder({ format: debeziumFormat, cloudEvents: 'binary', appId: APP });
const topic = 'graph.calendar.events';
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

describe('CloudEvents, version and trace headers', () => {
  it('a value record and its tombstone: Event Grid’s type, source and subject, distinct ids, no data type on the tombstone', async () => {
    const gone = changeRecords(change({ changeType: 'deleted' }), { kind: 'gone' }, at);
    const [value, tombstone] = await runTraced(undefined, () => Promise.resolve(ce.change(gone, topic)));
    const common = {
      ce_specversion: '1.0',
      ce_source: `/tenants/${TENANT}/applications/${APP}`,
      ce_type: 'Microsoft.Graph.EventDeleted',
      ce_subject: `Events/${item.id}`,
      ce_time: '2026-12-04T09:00:00.000Z',
    };
    expect(value!.headers).toMatchObject({
      ...common,
      ce_id: 'n-1',
      ce_dataschema: 'urn:graph2kafka:schema:v1:events.value',
      'content-type': 'application/json',
    });
    expect(tombstone!.value).toBeNull();
    expect(tombstone!.headers).toMatchObject({ ...common, ce_id: 'n-1.tombstone', 'g2k-tombstone': 'true' });
    expect(tombstone!.headers).not.toHaveProperty('content-type');
    expect(tombstone!.headers).not.toHaveProperty('ce_dataschema');
    // One unit of work, one trace.
    expect(value!.headers.traceparent).toMatch(TRACEPARENT);
    expect(tombstone!.headers.traceparent).toBe(value!.headers.traceparent);
    // The value and the g2k headers are what the json format always wrote.
    expect(value!.value).toBe(gone.records[0]!.value);
    expect(value!.headers).toMatchObject(gone.records[0]!.headers);
  });

  it('without a notification id, the id is the record’s own: the same across retries, different for another version', () => {
    const resync = (i: Record<string, unknown>, when: number) =>
      ce.change(
        resyncRecords(
          { kind: 'events', tenantId: TENANT, target: { userId }, subscriptionId: 's' },
          i,
          undefined,
          when,
        ),
        topic,
      )[0]!.headers.ce_id;
    const first = resync(item, at);
    expect(first).toMatch(/^g2k-[A-Za-z0-9_-]{22}$/);
    expect(resync(item, at + 60_000)).toBe(first);
    expect(resync({ ...item, changeKey: 'EwAAABYAAAA' }, at)).not.toBe(first);
    expect(resync({ ...item, id: 'other' }, at)).not.toBe(first);
    // A directory object has no version: its content is it.
    const user = (displayName: string) =>
      ce.change(
        changeRecords(
          change({ kind: 'users', target: {}, notificationId: undefined }),
          { kind: 'found', item: { id: item.id, displayName } },
          at,
        ),
        topic,
      )[0]!.headers;
    expect(user('Ada').ce_id).toBe(user('Ada').ce_id);
    expect(user('Ada').ce_id).not.toBe(user('Grace').ce_id);
    expect(user('Ada')).toMatchObject({ ce_type: 'Microsoft.Graph.UserUpdated', ce_subject: `Users/${item.id}` });
  });

  it('Event Grid’s type names per kind; a directory creation is Updated, as Event Grid has no UserCreated', () => {
    const type = (kind: ChangeInput['kind'], changeType: ChangeInput['changeType']) =>
      ce.change(changeRecords(change({ kind, changeType }), { kind: 'failed', reason: 'throttled' }, at), topic)[0]!
        .headers.ce_type;
    expect(type('messages', 'created')).toBe('Microsoft.Graph.MessageCreated');
    expect(type('contacts', 'updated')).toBe('Microsoft.Graph.ContactUpdated');
    expect(type('groups', 'created')).toBe('Microsoft.Graph.GroupUpdated');
    expect(type('groups', 'deleted')).toBe('Microsoft.Graph.GroupDeleted');
  });

  it('g2k-change-key and g2k-last-modified come from the item, on every format; none without one', () => {
    const found = changeRecords(change(), { kind: 'found', item }, at);
    expect(found.records[0]!.headers).toMatchObject({
      'g2k-change-key': item.changeKey,
      'g2k-last-modified': item.lastModifiedDateTime,
    });
    const failed = changeRecords(change(), { kind: 'failed', reason: 'throttled' }, at);
    expect(Object.keys(failed.records[0]!.headers)).not.toContain('g2k-change-key');
  });

  it('G2K_CLOUDEVENTS=off: no ce_ header, the rest unchanged', () => {
    const off = new RecordEncoder({ format: jsonFormat, cloudEvents: 'off', appId: APP });
    const found = changeRecords(change(), { kind: 'found', item }, at);
    const [record] = off.change(found, topic);
    expect(Object.keys(record!.headers).filter((h) => h.startsWith('ce_'))).toEqual([]);
    const { traceparent, ...rest } = record!.headers;
    expect(traceparent).toMatch(TRACEPARENT);
    expect(rest).toEqual(found.records[0]!.headers);
  });

  it('a traceparent continues the caller’s trace with a span of its own; a malformed one starts a fresh trace', async () => {
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const seen = await runTraced(incoming, () =>
      Promise.resolve(ce.change(changeRecords(change(), { kind: 'found', item }, at), topic)),
    );
    const child = seen[0]!.headers.traceparent!;
    expect(child).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(child).not.toContain('00f067aa0ba902b7');
    for (const bad of [
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-0000',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
    ])
      expect(childTraceparent(bad)).not.toContain('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(childTraceparent()).toMatch(/-00$/);
  });
});

describe('the debezium value format', () => {
  const envelope = (records: ReturnType<typeof changeRecords>) =>
    JSON.parse(debezium.change(records, topic)[0]!.value!) as Record<string, unknown>;

  it('c, u, r and d with their before and after; every envelope matches its schema; the tombstone stays', () => {
    const created = changeRecords(change({ changeType: 'created' }), { kind: 'found', item }, at);
    const updated = changeRecords(change(), { kind: 'found', item }, at);
    const snapshot = resyncRecords(
      { kind: 'events', tenantId: TENANT, target: { userId }, subscriptionId: 's' },
      item,
      undefined,
      at,
      'snapshot',
    );
    const gone = changeRecords(change({ changeType: 'deleted' }), { kind: 'gone' }, at);
    const identity = { kind: 'events', tenantId: TENANT, userId, eventId: item.id };
    expect(envelope(created)).toMatchObject({ op: 'c', before: null, after: created.value });
    expect(envelope(updated)).toMatchObject({ op: 'u', before: identity, after: updated.value });
    expect(envelope(snapshot)).toMatchObject({ op: 'r', before: null, source: { snapshot: 'true', path: 'snapshot' } });
    expect(envelope(gone)).toMatchObject({
      op: 'd',
      before: identity,
      after: null,
      ts_ms: at,
      source: { connector: 'graph2kafka', db: TENANT, table: 'events', changeType: 'deleted', notificationId: 'n-1' },
    });
    expect(envelope(updated)).toMatchObject({ source: { ts_ms: Date.parse(item.lastModifiedDateTime) } });
    const all = [created, updated, snapshot, gone].flatMap((c) => debezium.change(c, topic));
    expect(all.map((r) => recordSchemaError(r) ?? 'ok')).toEqual(all.map(() => 'ok'));
    const [, tombstone] = debezium.change(gone, topic);
    expect(tombstone).toMatchObject({ key: gone.records[1]!.key, value: null });
    expect(debezium.change(gone, topic)[0]!.headers.ce_dataschema).toBe('urn:graph2kafka:schema:v1:events.debezium');
  });

  it('an unconfirmed or refuted delete is an update: the row stays until Graph says it is gone', () => {
    const refuted = changeRecords(change({ changeType: 'deleted' }), { kind: 'found', item }, at);
    const unknown = changeRecords(change({ changeType: 'deleted' }), { kind: 'failed', reason: 'throttled' }, at);
    expect([envelope(refuted).op, envelope(unknown).op]).toEqual(['u', 'u']);
    expect(debezium.change(unknown, topic)).toHaveLength(1);
  });

  it('an envelope whose after is not its kind’s record does not match', () => {
    const [record] = debezium.change(changeRecords(change(), { kind: 'found', item }, at), topic);
    const value = JSON.parse(record!.value!) as { after: Record<string, unknown> };
    const broken = { ...record!, value: JSON.stringify({ ...value, after: { ...value.after, stray: 1 } }) };
    expect(recordSchemaError(broken)).toMatch(/events\.debezium\.schema\.json/);
  });
});

describe('topic routing', () => {
  it('per kind by default; per kind and tenant with a template, lifecycle and dead letters included', async () => {
    const plain = await loadConfig(validEnv);
    const fixed = new TopicRouter(plain.topics, plain.topicTemplate);
    expect(fixed.topic('events', TENANT)).toBe('graph.calendar.events');
    expect(fixed.topicsOf('deadLetter', [TENANT, 'other'])).toEqual(['graph.calendar.deadletter']);
    const templated = await loadConfig({ ...validEnv, G2K_TOPIC_TEMPLATE: 'graph.{tenant}.{kind}' });
    const router = new TopicRouter(templated.topics, templated.topicTemplate);
    expect(router.topic('messages', TENANT.toUpperCase())).toBe(`graph.${TENANT}.messages`);
    expect(router.topic('lifecycle', TENANT)).toBe(`graph.${TENANT}.lifecycle`);
    expect(router.topicsOf('deadLetter', ['b', 'a', 'b'])).toEqual(['graph.a.deadletter', 'graph.b.deadletter']);
  });

  it('a template without {kind}, with another placeholder, making bad names, or beside a topic setting is refused', async () => {
    expect(await configProblems({ ...validEnv, G2K_TOPIC_TEMPLATE: 'graph.{tenant}' })).toEqual([
      'G2K_TOPIC_TEMPLATE: it must contain {kind}.',
    ]);
    expect((await configProblems({ ...validEnv, G2K_TOPIC_TEMPLATE: '{kind}.{user}' }))[0]).toMatch(
      /only \{kind\} and \{tenant\}/,
    );
    expect((await configProblems({ ...validEnv, G2K_TOPIC_TEMPLATE: 'graph/{kind}' }))[0]).toMatch(
      /not a valid Kafka topic name/,
    );
    expect(await configProblems({ ...validEnv, G2K_TOPIC_TEMPLATE: '{kind}', G2K_TOPIC: 'x' })).toEqual([
      'G2K_TOPIC_TEMPLATE: it replaces G2K_TOPIC: unset them.',
    ]);
    // Like every setting's, the bad value is not echoed: it could be a secret pasted into the wrong setting.
    expect(await configProblems({ ...validEnv, G2K_VALUE_FORMAT: 'avro', G2K_CLOUDEVENTS: 'structured' })).toEqual([
      expect.stringMatching(/^G2K_VALUE_FORMAT must be json or debezium, got a value of 4 character/),
      expect.stringMatching(/^G2K_CLOUDEVENTS must be binary or off, got a value of 10 character/),
    ]);
  });
});
