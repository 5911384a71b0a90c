import type { KindName } from '../kinds/index.ts';

/** A change produced without its event (Graph throttled, the token endpoint down …), waiting to be repaired. */
export interface RepairEntry {
  tenantId: string;
  /** Entries written before kinds existed have none: they read as events (`repairCollection`). */
  kind: KindName;
  userId: string;
  /** The item to read again; entries written before kinds existed name it `eventId` (read as this). */
  itemId: string;
  folderId?: string;
  select?: string;
  subscriptionId: string;
  changeType: 'created' | 'updated' | 'deleted';
  resource: string;
  /** Why the record went out unenriched (the record's notEnrichedReason). */
  reason: string;
  firstSeenAt: string;
  attempts: number;
  lastAttemptAt?: string;
  /**
   * Written fresh with every put: a delete names the put it saw, so an entry put again meanwhile (a re-read
   * queued by another instance, a retry) is not deleted with it. Absent in entries of earlier versions.
   */
  nonce?: string;
}
