import type { ExpansionWindow } from '../series/series-types.ts';
import type { KindName, NamedItem, Target } from '../kinds/index.ts';

/** A change notification as Graph sends it (changeNotification, v1.0), after the envelope check. */
export interface ChangeNotification {
  id: string | undefined;
  subscriptionId: string;
  subscriptionExpirationDateTime: string | undefined;
  tenantId: string;
  clientState: string | null;
  changeType: 'created' | 'updated' | 'deleted';
  /** The resource as Graph wrote it (kept in the record); never used to decide what is read or written. */
  resource: string;
  /** What the resource names; it must be the subscription's own mailbox (`boundToSubscription`). */
  named: NamedItem;
}

export interface LifecycleNotification {
  subscriptionId: string;
  subscriptionExpirationDateTime: string | undefined;
  tenantId: string;
  clientState: string | null;
  lifecycleEvent: 'missed' | 'subscriptionRemoved' | 'reauthorizationRequired';
}

/** A change verified and bound to its subscription: reads and keys use these, not the notification's words. */
export interface VerifiedChange extends ChangeNotification {
  kind: KindName;
  /** The subscription's target (its mailbox, and folder), never the notification's. */
  target: Target;
  itemId: string;
  /** The `$select` the subscription's entry asked for (else the kind's default). */
  select: string | undefined;
  /** Events: the subscription's occurrence expansion, if its entry asked for one. */
  expand?: ExpansionWindow | undefined;
}
