import type { KindName } from '../kinds/index.ts';

/** What graph2kafka keeps about a subscription it created; the clientState is a secret. */
export interface SubscriptionRecord {
  id: string;
  tenantId: string;
  /** The resource kind; records written before kinds existed have none and are events (`kindOf`). */
  kind?: KindName;
  /** The mailbox watched (lower-case object id). */
  userId: string;
  /** For a folder subscription (messages of one mail folder), the folder as configured. */
  folderId?: string;
  /** The `$select` its desired-state entry asked for; absent: the kind's default. */
  select?: string;
  /** Events: the occurrence expansion its entry asked for; absent: series are produced as masters only. */
  expand?: ExpansionWindow;
  /** Rich notifications: the item comes inside the notification, encrypted for this certificate id. */
  mode?: 'rich';
  encryptionCertificateId?: string;
  /** Rich: properties read beside each item (Graph does not send them inside notifications). */
  richRead?: string;
  /** Hours between the sweep's delta rounds of its target (its entry's `sweepHours`); absent: G2K_SWEEP_HOURS. */
  sweepHours?: number;
  resource: string;
  changeType: string;
  clientState: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | undefined;
  expirationDateTime: string;
  createdAt: string;
  updatedAt: string;
  /** Last PATCH and last reauthorize: Graph asks not to send both for one subscription within 10 minutes. */
  lastRenewedAt?: string;
  lastReauthorizedAt?: string;
  /** The last `missed` that ran a resync inline: later ones within `MISSED_COALESCE_MS` leave it to the timer. */
  lastMissedAt?: string;
  /**
   * A marker written before Graph is asked to create a subscription, under `pendingId(clientState)`: Graph's
   * first notification can arrive before the create call returns, and must be told "retry" rather than
   * "unknown". Never a real subscription; removed by the reconcile after the one that wrote it.
   */
  pending?: boolean;
  /**
   * Until when (this machine's clock, ISO) a marker is matched: while its create is in flight, and a few seconds
   * after (a receiver may have cached the new id as unknown). Past it, a notification of an unknown id is
   * refused like any other, so a clientState holder cannot keep a subscription's POSTs answered 503.
   */
  pendingUntil?: string;
}

/** How far around today a series is expanded into occurrence records (the desired state's `expandOccurrences`). */
export interface ExpansionWindow {
  pastDays: number;
  futureDays: number;
}

/** A subscription as Graph's `/subscriptions` returns it. */
export interface GraphSubscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  expirationDateTime: string;
  clientState: string | null;
  /** Rich subscriptions: the certificate Graph encrypts for. */
  includeResourceData?: boolean;
  encryptionCertificateId?: string | null;
}

/** What graph2kafka asks Graph to create. */
export interface NewSubscription {
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  expirationDateTime: string;
  clientState: string;
  /** Rich notifications. */
  includeResourceData?: boolean;
  encryptionCertificate?: string;
  encryptionCertificateId?: string;
}

/** The subscriptions collection as the receive path and the manager use it (`CachedSubscriptions` or not). */
export interface Subscriptions {
  get(id: string): Promise<SubscriptionRecord | undefined>;
  /** What a cache already knows without a backend read: the record, null for known-unknown, else undefined. */
  peek?(id: string): SubscriptionRecord | null | undefined;
  /** Reads the backend, skipping any cache: for guards that must see the latest write. */
  getFresh?(id: string): Promise<SubscriptionRecord | undefined>;
  put(record: SubscriptionRecord): Promise<void>;
  delete(id: string): Promise<void>;
  list(): Promise<SubscriptionRecord[]>;
}
