import type { ChangeRecords } from '../model/record.ts';
import type { ValueFormatName } from '../config/kafka-config.ts';

/** The value formats of change records (G2K_VALUE_FORMAT). */

/**
 * How a change record's value is written. The key, the headers and the tombstones are the same in every format
 * (a compacted topic keeps the same view of Graph whichever is chosen); only the value record's bytes differ.
 * Lifecycle and dead-letter records are graph2kafka's own and stay plain JSON.
 *
 * A format that needs set-up per topic before it can write (a schema registry's id for the topic's subject)
 * does it in `prepare`, which the producer awaits before `value` is called for that topic.
 */
export interface ValueFormat {
  readonly name: ValueFormatName;
  /** The `content-type` (CloudEvents `datacontenttype`) of the values it writes. */
  readonly contentType: string;
  /** The schema (`$id`, packages/core/schemas) the values it writes follow, for a record of this change. */
  schemaId(change: ChangeRecords): string;
  prepare?(topic: string, change: ChangeRecords): Promise<void>;
  /** The value record's value; `change.value` is the value as `json` writes it. */
  value(change: ChangeRecords, topic: string): string;
}
