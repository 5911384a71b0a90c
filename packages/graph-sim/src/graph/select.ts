import { GraphError } from '../errors.ts';

/** A `$select` checked against the type's properties, as Graph refuses an unknown one; undefined without one. */
export function parseSelect(raw: string | null, properties: Set<string>, type: string): string[] | undefined {
  if (raw === null) return undefined;
  const fields = raw
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  for (const field of fields)
    if (!properties.has(field))
      throw new GraphError(
        400,
        'RequestBroker--ParseUri',
        `Could not find a property named '${field}' on type 'microsoft.graph.${type}'.`,
      );
  return fields;
}

/** The item with only the selected properties (and its id and etag, which Graph always returns). */
export function project(item: Record<string, unknown>, select: string[] | undefined): Record<string, unknown> {
  if (!select) return item;
  const out: Record<string, unknown> = { '@odata.etag': item['@odata.etag'], id: item.id };
  for (const field of select) out[field] = item[field];
  return out;
}
