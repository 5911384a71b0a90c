import type { KindName } from '../kinds/index.ts';

/**
 * Names one delta round: a target (tenant, kind, mailbox, folder) and, where delta is per folder, the folder
 * (`scope`). The target's own state (scope empty) also says whether a resync is owed.
 */
export interface SyncRef {
  tenantId: string;
  userId: string;
  /** Absent in states written before kinds existed: events. */
  kind?: KindName;
  folderId?: string;
  scope?: string;
}

/** Per sync ref: where the last delta round ended, and whether a resync is owed (after missed/removed). */
export interface MailboxSyncState extends SyncRef {
  deltaLink: string | undefined;
  /** A target whose rounds are per folder keeps no link of its own; this says its baseline round was done. */
  baselined?: boolean;
  resyncPending: boolean;
  /**
   * The target's snapshot is not complete yet: its existing items are still being produced, page by page, from
   * the stored link (the target's own state only).
   */
  snapshotPending?: boolean;
  /**
   * A listing round with a `since` (see DeltaScope): when the round began, less a margin; the next round reads
   * what changed after it. Kept page by page, since a round may span timer runs.
   */
  listedFrom?: string;
  /** Items the snapshot of this scope produced so far. */
  snapshotItems?: number;
  updatedAt: string;
}
