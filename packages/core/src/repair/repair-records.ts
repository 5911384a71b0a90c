import { KINDS, type ResourceKind, type Target } from '../kinds/index.ts';
import type { FetchOutcome } from '../model/item-read.ts';
import { changeRecords, type ChangeRecords } from '../model/record.ts';
import type { RepairEntry } from './repair-types.ts';

/** The item a repair entry reads again, with what its record needs. */
export function repairTarget(entry: RepairEntry): { kind: ResourceKind; target: Target; itemId: string } {
  return {
    kind: KINDS[entry.kind],
    target: { userId: entry.userId, ...(entry.folderId ? { folderId: entry.folderId } : {}) },
    itemId: entry.itemId,
  };
}

/**
 * The record that repairs an unenriched one (or re-reads a key that may have lost a race): the item as Graph
 * returns it now (`source: "repair"`), or, when the item is gone by then, a record saying so and its tombstone.
 */
export function repairRecords(entry: RepairEntry, outcome: FetchOutcome, now: number): ChangeRecords {
  const { kind, target, itemId } = repairTarget(entry);
  return changeRecords({ ...entry, kind: kind.name, target, itemId, source: 'repair' }, outcome, now);
}
