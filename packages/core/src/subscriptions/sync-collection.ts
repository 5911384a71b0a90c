import { createHash } from 'node:crypto';
import { defineCollection } from '../state/collection.ts';
import type { MailboxSyncState, SyncRef } from './sync-types.ts';

/** The id of a mailbox's events sync state, as stored before kinds existed. */
export const mailboxKey = (tenantId: string, userId: string): string =>
  `${tenantId.toLowerCase()}_${userId.toLowerCase()}`;

/**
 * The id of a sync state, the same in every backend. A mailbox's events keep the id they had before kinds
 * existed (`mailboxKey`), so stored delta links carry over; every other ref is hashed (folder ids are long).
 */
export function syncKey(ref: SyncRef): string {
  if ((!ref.kind || ref.kind === 'events') && !ref.folderId && !ref.scope) return mailboxKey(ref.tenantId, ref.userId);
  const name = [ref.kind, ref.tenantId.toLowerCase(), ref.userId.toLowerCase(), ref.folderId ?? '', ref.scope ?? ''];
  return `sync-${createHash('sha256').update(name.join('|')).digest('hex').slice(0, 48)}`;
}

/** Where each delta round ended, by `syncKey`. */
export const syncCollection = defineCollection<MailboxSyncState, SyncRef>({
  name: 'mailbox',
  folder: 'mailboxes',
  id: syncKey,
  // A mailbox's events state of before kinds has none; named so, it keeps its id (`mailboxKey`). Kindless
  // states of folders or scopes keep theirs too: their id hashes the absent kind, so it is left absent.
  upgrade: (raw) => {
    const state = raw as unknown as MailboxSyncState;
    return state.kind || state.folderId || state.scope ? state : { ...state, kind: 'events' };
  },
});
