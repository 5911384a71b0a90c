import { createHash } from 'node:crypto';
import { defineCollection } from '../state/collection.ts';
import type { RepairEntry } from './repair-types.ts';

/**
 * One entry per item: a second unenriched change of the same item is repaired by the same read. Events keep
 * the id they had before kinds existed, so entries queued by an older version are still found.
 */
export function repairId(entry: Pick<RepairEntry, 'tenantId' | 'kind' | 'userId' | 'itemId'>): string {
  const item = `${entry.tenantId.toLowerCase()}/${entry.userId.toLowerCase()}/${entry.itemId}`;
  const name = entry.kind === 'events' ? item : `${entry.kind}:${item}`;
  return `repair-${createHash('sha256').update(name).digest('hex').slice(0, 48)}`;
}

/** The repair queue: changes produced without their item, by `repairId`. */
export const repairCollection = defineCollection<RepairEntry>({
  name: 'repair',
  folder: 'repairs',
  id: repairId,
  // Entries queued before kinds existed have no kind and name the item `eventId`: they are events.
  upgrade: (raw) => {
    const { eventId, ...entry } = raw as unknown as RepairEntry & { eventId?: string };
    return { ...entry, kind: entry.kind ?? 'events', itemId: entry.itemId ?? eventId ?? '' };
  },
});

/** Deletes the entry if it is still the put `entry` came from (same `nonce`; no nonce: whatever is there). */
export const repairDeleteCondition = (entry: RepairEntry): { field: 'nonce'; value: string } | undefined =>
  entry.nonce === undefined ? undefined : { field: 'nonce', value: entry.nonce };
