import type { ResourceKind, Target } from '../kinds/index.ts';
import type { NewSubscription, SubscriptionRecord } from './subscription.ts';

/** What a desired-state entry asks its reads for. */
export interface ReadOptions {
  /** `$select` for reads; absent: the kind's default. */
  select: string | undefined;
  /** Rich: properties Graph does not send inside notifications, read beside each item. */
  richRead?: string | undefined;
}

/** A certificate change a renewal carries (rich subscriptions move to the current certificate on renewal). */
export interface Rotation {
  encryptionCertificate: string;
  encryptionCertificateId: string;
}

/**
 * How subscriptions of one delivery mode are made and kept: basic notifications (each item read from Graph)
 * or rich ones (the item inside the notification, encrypted; `rich/rich-mode.ts`). Everything the planner,
 * the writes and the renewals do differently per mode is asked of it, so they hold no branch of their own.
 */
export interface SubscriptionMode {
  readonly name: 'basic' | 'rich';
  /** The subscription resource of a target (a rich one names the `$select` Graph sends). */
  resource(kind: ResourceKind, target: Target, options: ReadOptions): string;
  /** What reads of the target's items (unproven items, repairs, resyncs) ask for. */
  readSelect(kind: ResourceKind, options: ReadOptions): string | undefined;
  /** The longest lifetime Graph grants the kind's subscriptions in this mode, in minutes. */
  maxLifetimeMinutes(kind: ResourceKind): number;
  /** What a create adds to Graph's body and to the stored record; throws when the mode cannot be served. */
  createFields(resource: string): {
    body: Partial<NewSubscription>;
    record: Partial<SubscriptionRecord>;
  };
  /** The certificate a renewal of `record` moves it to, if it must move. */
  rotation(record: SubscriptionRecord): Rotation | undefined;
}
