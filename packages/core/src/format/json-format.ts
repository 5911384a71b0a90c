import { schemaIdFor } from '../schemas/schema-ids.ts';
import type { ValueFormat } from './value-format.ts';

/** The value as documented in docs/record-format.md: the change's facts and the item (the default). */
export const jsonFormat: ValueFormat = {
  name: 'json',
  contentType: 'application/json',
  schemaId: (change) => schemaIdFor(change.kind.name, change.facts.source === 'expansion', 'value'),
  // Already serialised when the records were built (record.ts), where the size of the plain record is known.
  value: (change) => change.records[0]!.value!,
};
