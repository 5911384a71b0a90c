import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { recordSchemaError } from '@graph2kafka/testkit';
import { KIND_NAMES } from '../src/kinds/index.ts';
import { changeRecords, deadLetterRecord, lifecycleRecord, type ChangeInput } from '../src/model/record.ts';
import { recordSchemas, schemaFileFor } from '../src/schemas/record-schemas.ts';

const dir = path.join(__dirname, '..', 'schemas');
const tenantId = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
const userId = '1d5c2b8a-7e3f-4c91-b6a0-2f8e9d4c7b15';
const at = Date.parse('2026-12-04T09:00:00Z');

function change(kind: (typeof KIND_NAMES)[number], overrides: Partial<ChangeInput> = {}): ChangeInput {
  return {
    source: 'notification',
    changeType: 'updated',
    kind,
    tenantId,
    target: kind === 'users' || kind === 'groups' ? {} : { userId },
    itemId: 'AAMkAGI2TG93AAA=',
    resource: `Users/${userId}/Items/AAMkAGI2TG93AAA=`,
    subscriptionId: '40e3b8a9-f765-4a6d-8b21-276b14a46b25',
    notificationId: '0d4e',
    ...overrides,
  };
}

describe('the records’ JSON Schemas', () => {
  it('packages/core/schemas holds what record-schemas.ts makes (run pnpm docs:schemas after a change)', () => {
    const made = recordSchemas();
    expect(readdirSync(dir).sort()).toEqual(Object.keys(made).sort());
    for (const [file, schema] of Object.entries(made))
      expect({ file, schema: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as unknown }).toEqual({
        file,
        schema,
      });
  });

  it.each(KIND_NAMES)('%s: found, unenriched, gone (with its tombstone) and reduced records match', (kind) => {
    const found = changeRecords(change(kind), { kind: 'found', item: { id: 'AAMkAGI2TG93AAA=', extra: 1 } }, at);
    const failed = changeRecords(change(kind), { kind: 'failed', reason: 'throttled' }, at);
    const gone = changeRecords(change(kind, { changeType: 'deleted' }), { kind: 'gone' }, at);
    const records = [...found.records, ...failed.records, ...gone.records];
    expect(gone.records.map((r) => r.value === null)).toEqual([false, true]);
    expect(records.map((r) => recordSchemaError(r) ?? 'ok')).toEqual(records.map(() => 'ok'));
  });

  it('occurrence, lifecycle and dead-letter records match theirs', () => {
    const occurrence = changeRecords(
      change('events', { source: 'expansion', seriesMasterId: 'master' }),
      { kind: 'found', item: { id: 'occ', type: 'occurrence' } },
      at,
    );
    const lifecycle = lifecycleRecord(
      { lifecycleEvent: 'missed', subscriptionId: 's', tenantId, subscriptionExpirationDateTime: undefined } as never,
      at,
    );
    const letter = deadLetterRecord(occurrence, 'graph.calendar.events', 'record_too_large', 'too big', null, at);
    const records = [...occurrence.records, lifecycle, letter];
    expect(records.map((r) => schemaFileFor(JSON.parse(r.value!) as Record<string, unknown>))).toEqual([
      'events-occurrence.value.schema.json',
      'lifecycle.value.schema.json',
      'dead-letter.value.schema.json',
    ]);
    expect(records.map((r) => recordSchemaError(r) ?? 'ok')).toEqual(['ok', 'ok', 'ok']);
  });

  it('a record with a field its schema does not name, or a wrong type, or a stray null value, does not match', () => {
    const [record] = changeRecords(change('events'), { kind: 'failed', reason: 'throttled' }, at).records;
    const value = JSON.parse(record!.value!) as Record<string, unknown>;
    const withField = { ...record!, value: JSON.stringify({ ...value, addedField: 1 }) };
    expect(recordSchemaError(withField)).toMatch(/must NOT have additional properties.*addedField/);
    const wrongType = { ...record!, value: JSON.stringify({ ...value, enriched: 'yes' }) };
    expect(recordSchemaError(wrongType)).toMatch(/\/enriched must be boolean/);
    expect(recordSchemaError({ key: 'k', value: null, headers: {} })).toMatch(/g2k-tombstone/);
    const occurrenceWithoutMaster = { ...record!, value: JSON.stringify({ ...value, source: 'expansion' }) };
    expect(recordSchemaError(occurrenceWithoutMaster)).toMatch(/seriesMasterId/);
  });
});
