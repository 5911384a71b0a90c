import { createHash } from 'node:crypto';
import { defineCollection } from '../state/collection.ts';

export type LifecycleEvent = 'missed' | 'subscriptionRemoved' | 'reauthorizationRequired';

/**
 * A lifecycle event graph2kafka owes an action (reauthorize, recreate, resync), recorded before Graph is answered
 * and performed by a drain after. One per subscription and event: a repeated or replayed notification finds the
 * entry there, so a clientState holder can owe at most three actions per subscription, however many POSTs.
 */
export interface LifecycleActionEntry {
  subscriptionId: string;
  tenantId: string;
  event: LifecycleEvent;
  /** When the last notification of it arrived (this machine's clock, ISO). */
  receivedAt: string;
  attempts: number;
  lastAttemptAt?: string;
  /** Fresh with every record: the drain deletes only the entry it acted on, not one recorded again since. */
  nonce: string;
}

const actionId = (ref: Pick<LifecycleActionEntry, 'subscriptionId' | 'event'>): string =>
  `lifecycle-${createHash('sha256').update(`${ref.subscriptionId}|${ref.event}`).digest('hex').slice(0, 48)}`;

/** Lifecycle actions owed, by subscription and event; listed oldest first by `receivedAt`. */
export const lifecycleCollection = defineCollection<
  LifecycleActionEntry,
  Pick<LifecycleActionEntry, 'subscriptionId' | 'event'>
>({
  name: 'lifecycle',
  folder: 'lifecycle',
  id: actionId,
  index: 'receivedAt',
});
