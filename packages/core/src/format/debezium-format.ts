import type { ChangeRecords } from '../model/record.ts';
import { schemaIdFor } from '../schemas/schema-ids.ts';
import type { ValueFormat } from './value-format.ts';

/** Debezium's operations: create, update, delete, read (a snapshot's rows). */
export type DebeziumOp = 'c' | 'u' | 'd' | 'r';

/** The identity of a row: what a delete or update names when the row before it is not known. */
export type RowIdentity = Record<string, unknown>;

export interface DebeziumEnvelope {
  before: RowIdentity | null;
  after: Record<string, unknown> | null;
  op: DebeziumOp;
  source: {
    version: string;
    connector: 'graph2kafka';
    name: 'graph2kafka';
    /** When the change happened in Graph, as far as known: the item's lastModifiedDateTime, else when read. */
    ts_ms: number;
    snapshot: 'true' | 'false';
    /** The tenant, as a database is for Debezium's connectors. */
    db: string;
    /** The kind, as a table. */
    table: string;
    /** graph2kafka's path (`notification`, `resync`, `repair`, `expansion`, `snapshot`). */
    path: string;
    changeType: string;
    notificationId: string | null;
  };
  /** When graph2kafka made the record. */
  ts_ms: number;
}

/**
 * `d` when the record says the item is gone (a tombstone follows, as Debezium writes one after a delete); `r` for a
 * snapshot's rows; `c` for Graph's `created`; `u` otherwise — including an unconfirmed or refuted `deleted`
 * (Graph still has the item, or did not say yet: the row stays, and a repair record settles it).
 */
export function debeziumOp(change: ChangeRecords): DebeziumOp {
  if (change.tombstone) return 'd';
  if (change.facts.source === 'snapshot') return 'r';
  return change.facts.changeType === 'created' ? 'c' : 'u';
}

/**
 * The row's identity: the fields of the value the key is made of. graph2kafka does not know the row before a
 * change (Graph's notifications carry no prior state, and keeping a copy of every item would make the state
 * store a replica of every mailbox), so `before` is null for `c` and `r`; for `u` and `d` it holds this
 * identity, as Debezium's own connectors do for a table without a full replica identity — which is what a
 * changelog reader such as Flink's `debezium-json` needs to retract the row by its key (it refuses a `u` or `d`
 * whose `before` is null).
 */
export function rowIdentity(change: ChangeRecords): RowIdentity {
  const v = change.value;
  return {
    kind: v.kind,
    tenantId: v.tenantId,
    ...(change.kind.scope === 'mailbox' ? { userId: v.userId } : {}),
    ...(change.kind.idFields ? change.kind.idFields.of(change.itemId) : { [change.kind.idField]: change.itemId }),
  };
}

export function debeziumEnvelope(change: ChangeRecords): DebeziumEnvelope {
  const f = change.facts;
  const op = debeziumOp(change);
  const received = Date.parse(f.receivedAt);
  const modified =
    typeof change.item?.lastModifiedDateTime === 'string' ? Date.parse(change.item.lastModifiedDateTime) : NaN;
  return {
    before: op === 'c' || op === 'r' ? null : rowIdentity(change),
    after: op === 'd' ? null : change.value,
    op,
    source: {
      version: String(f.schemaVersion),
      connector: 'graph2kafka',
      name: 'graph2kafka',
      ts_ms: Number.isFinite(modified) ? modified : received,
      snapshot: f.source === 'snapshot' ? 'true' : 'false',
      db: f.tenantId,
      table: change.kind.name,
      path: f.source,
      changeType: f.changeType,
      notificationId: f.notificationId,
    },
    ts_ms: received,
  };
}

/** Debezium's JSON change-event envelope (without its inline schema: the schema files describe it). */
export const debeziumFormat: ValueFormat = {
  name: 'debezium',
  contentType: 'application/json',
  schemaId: (change) => schemaIdFor(change.kind.name, false, 'debezium'),
  value: (change) => JSON.stringify(debeziumEnvelope(change)),
};
