import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { workspaceRoot } from './deploy-bundle.ts';

/** A record as read back from Kafka: what the validator looks at. */
export interface RecordToValidate {
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

// The schema files core ships (packages/core/schemas, written by `pnpm docs:schemas`), read as files: testkit
// does not depend on core, whose own tests use testkit.
const SCHEMA_DIR = path.join(workspaceRoot(), 'packages', 'core', 'schemas');

let validators: Map<string, ValidateFunction> | undefined;

/** Compiles the schemas (once; about 100 ms): done before a reader consumes, not inside its first message. */
export function loadRecordSchemas(): Map<string, ValidateFunction> {
  if (validators) return validators;
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats.default(ajv);
  // All added first: a debezium envelope's `after` refers to its kind's value schema by `$id`.
  const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json'));
  const ids = new Map<string, string>();
  for (const file of files) {
    const schema = JSON.parse(readFileSync(path.join(SCHEMA_DIR, file), 'utf8')) as { $id: string };
    ajv.addSchema(schema);
    ids.set(file, schema.$id);
  }
  validators = new Map(files.map((file) => [file, ajv.getSchema(ids.get(file)!)!]));
  return validators;
}

/** The schema file a value is written under: the same rule as core's `schemaFileFor`. */
function schemaFile(value: Record<string, unknown>): string | undefined {
  if ('lifecycleEvent' in value) return 'lifecycle.value.schema.json';
  if ('deadLetteredAt' in value) return 'dead-letter.value.schema.json';
  // The debezium format's envelope: its kind is the source's table.
  if ('op' in value && typeof value.source === 'object' && value.source !== null) {
    const table = (value.source as Record<string, unknown>).table;
    return typeof table === 'string' ? `${table}.debezium.schema.json` : undefined;
  }
  if (typeof value.kind !== 'string') return undefined;
  return value.source === 'expansion'
    ? `${value.kind}-occurrence.value.schema.json`
    : `${value.kind}.value.schema.json`;
}

/**
 * Why a record graph2kafka wrote does not match its published schema, or undefined when it does. A tombstone
 * (null value) must say so in its headers; any other value must be JSON that one schema file accepts.
 */
export function recordSchemaError(record: RecordToValidate): string | undefined {
  if (record.value === null)
    return record.headers['g2k-tombstone'] === 'true' ? undefined : 'a null value without g2k-tombstone: true';
  let value: unknown;
  try {
    value = JSON.parse(record.value);
  } catch {
    return 'a value that is not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a value that is not a JSON object';
  const file = schemaFile(value as Record<string, unknown>);
  const validate = file ? loadRecordSchemas().get(file) : undefined;
  if (!validate) return `no schema in packages/core/schemas for this value (${file ?? 'no kind'})`;
  if (validate(value)) return undefined;
  const errors = (validate.errors ?? [])
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('; ');
  return `${file}: ${errors}`;
}
