import type { ReadRecord } from './topic-reader.ts';

/** A row of the table: the record's `after`, under its Kafka key. */
export interface ChangelogRow {
  key: string;
  after: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A changelog reader as Flink's `debezium-json` format and an upsert sink are (Kafka Connect's JDBC sink reads the
 * same way): it applies each Debezium envelope by its `op` — `c` and `r` insert, `u` retracts `before` and
 * upserts `after`, `d` deletes `before` — keyed by the record key, and a tombstone deletes the key. It holds
 * the records to the contract such a reader relies on, failing on what Flink would refuse (a `u` or `d`
 * without `before`) and on what would corrupt the table (a `before` that names another row than the key's). A
 * `u` of a row it has not seen upserts, as a keyed sink does: a change can be covered by a later one of its key
 * (a `created` superseded by the `updated` read after it).
 */
export class ChangelogTable {
  readonly rows = new Map<string, ChangelogRow>();
  /** How many records of each op, and tombstones, were applied. */
  readonly ops = { c: 0, u: 0, d: 0, r: 0, tombstone: 0 };
  /** The identity fields a `before` must agree on with the row's `after` (the key's parts). */
  private readonly identity: (after: Record<string, unknown>) => Record<string, unknown>;

  constructor(identity: (after: Record<string, unknown>) => Record<string, unknown>) {
    this.identity = identity;
  }

  /** Applies records in the order read (one partition's order is a key's order). */
  apply(records: readonly ReadRecord[]): this {
    for (const r of records) this.applyOne(r);
    return this;
  }

  private applyOne(record: ReadRecord): void {
    const key = record.key;
    if (key === null) throw new Error('a changelog record without a key');
    if (record.value === null) {
      this.ops.tombstone++;
      this.rows.delete(key);
      return;
    }
    const envelope = JSON.parse(record.value) as Record<string, unknown>;
    const { op, before, after } = envelope;
    const at = `${key} (offset ${record.offset})`;
    if (op === 'c' || op === 'r') {
      if (!isObject(after)) throw new Error(`op ${op} without after: ${at}`);
      this.ops[op]++;
      this.rows.set(key, { key, after });
      return;
    }
    if (op !== 'u' && op !== 'd') throw new Error(`unknown op ${JSON.stringify(op)}: ${at}`);
    // Flink's debezium-json refuses these ("before" is null: the REPLICA IDENTITY message).
    if (!isObject(before)) throw new Error(`op ${op} without before: ${at}`);
    const existing = this.rows.get(key);
    if (existing) {
      const want = this.identity(existing.after);
      for (const [field, v] of Object.entries(want))
        if (before[field] !== v)
          throw new Error(`op ${op} whose before.${field} is ${JSON.stringify(before[field])}, not the row's: ${at}`);
    }
    this.ops[op]++;
    if (op === 'd') {
      if (after !== null) throw new Error(`op d with an after: ${at}`);
      this.rows.delete(key);
      return;
    }
    if (!isObject(after)) throw new Error(`op u without after: ${at}`);
    // An update of a row not seen (its insert predates the reader) upserts, as a keyed sink does.
    this.rows.set(key, { key, after });
  }
}
