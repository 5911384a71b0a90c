import type { KindName } from '../kinds/index.ts';
import { RECORD_SCHEMA_VERSION } from '../model/record.ts';

/**
 * The schemas' `$id`s: names, not addresses (the project publishes no schema site), under which consumers and
 * registries key them. The version is the records' `schemaVersion`.
 */
export const SCHEMA_BASE = `urn:graph2kafka:schema:v${RECORD_SCHEMA_VERSION}:`;

/** A change schema's file stem: `events.value`, `events-occurrence.value`, `events.debezium`. */
export const schemaStem = (kind: KindName, occurrence: boolean, format: 'value' | 'debezium'): string =>
  `${kind}${occurrence ? '-occurrence' : ''}.${format}`;

export const schemaIdFor = (kind: KindName, occurrence: boolean, format: 'value' | 'debezium'): string =>
  `${SCHEMA_BASE}${schemaStem(kind, occurrence, format)}`;
