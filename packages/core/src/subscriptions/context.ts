import type { Config, SubscriptionSettings } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { Collection } from '../state/collection.ts';
import type { Subscriptions } from '../model/subscription.ts';
import type { MailboxSyncState, SyncRef } from './sync-types.ts';
import type { SubscriptionModes } from './mode.ts';
import type { Resyncer } from './resync.ts';
import type { SubscriptionApi } from './subscription-api.ts';

/** What every part of the subscriptions' side works with; one per app, made by the manager. */
export interface SubscriptionContext {
  config: Config;
  settings: SubscriptionSettings;
  api: SubscriptionApi;
  /** The stored subscriptions (cached): their clientState secrets. */
  store: Subscriptions;
  /** Where each target's delta rounds stand. */
  syncStates: Collection<MailboxSyncState, SyncRef>;
  resyncer: Resyncer;
  modes: SubscriptionModes;
  logger: Logger;
  /** Graph's time: expirations are judged against it (tests pass graph-sim's simulated clock). */
  now: () => number;
}
