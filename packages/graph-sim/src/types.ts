/** Who a valid access token says is calling. */
export interface Principal {
  appId: string;
  tenantId: string;
  tokenId: string;
}

export type ChangeType = 'created' | 'updated' | 'deleted';
export type LifecycleEvent = 'missed' | 'subscriptionRemoved' | 'reauthorizationRequired';

export interface SimRequest {
  method: string;
  /** Path without the query string, percent-decoded per segment by the router. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: string;
  requestId: string;
  /** Set for an item of a `$batch` request: the id of the enclosing batch request. */
  batchId?: string;
}

export interface SimResponse {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or a Buffer (a hosted content's bytes) as-is. */
  body?: unknown;
}

export interface SimUser {
  id: string;
  tenantId: string;
  userPrincipalName: string;
  displayName: string;
  mail: string;
  /**
   * What the mailbox is for (Graph's mailboxSettings.userPurpose): a person's (`user`), or a resource mailbox —
   * a room or equipment, booked through its calendar — or a shared one.
   */
  userPurpose: MailboxPurpose;
  /** A room's room list (its email address), if it is in one. */
  roomList?: string;
}

export type MailboxPurpose = 'user' | 'room' | 'equipment' | 'shared';

/** A room list of the Places API: a distribution list of rooms, named by its email address. */
export interface SimRoomList {
  id: string;
  tenantId: string;
  displayName: string;
  emailAddress: string;
}

export interface SimTenant {
  id: string;
  domain: string;
}

export interface SimApp {
  clientId: string;
  clientSecret: string;
  displayName: string;
  /** Tenants whose admin consented to the app's application permission (Calendars.Read). */
  consentedTenants: Set<string>;
  servicePrincipalIds: Map<string, string>;
}

/** The resources graph-sim delivers notifications for. */
export type SubscriptionKind =
  'events' | 'messages' | 'contacts' | 'users' | 'groups' | 'channelMessages' | 'chatMessages' | 'chats';

/** The Teams kinds: tenant-wide or per team channel or chat, never per mailbox. */
export const TEAMS_KINDS: ReadonlySet<SubscriptionKind> = new Set(['channelMessages', 'chatMessages', 'chats']);

export interface Subscription {
  id: string;
  resource: string;
  kind: SubscriptionKind;
  /**
   * Messages of one mail folder (its id, resolved from a well-known name at creation), or events of one calendar
   * (`/users/{id}/calendars/{id}/events`); absent for `/users/{id}/events`, which hears the default calendar only.
   */
  folderId?: string;
  /**
   * Teams: the channel (`/teams/{id}/channels/{id}/messages`) or the chat (`/chats/{id}/messages`) subscribed to;
   * neither for the tenant-wide `/teams/getAllMessages`, `/chats/getAllMessages` and `/chats`.
   */
  teamId?: string;
  channelId?: string;
  chatId?: string;
  changeTypes: ChangeType[];
  notificationUrl: string;
  lifecycleNotificationUrl: string | undefined;
  expirationMs: number;
  clientState: string | undefined;
  applicationId: string;
  creatorId: string;
  tenantId: string;
  userId: string;
  immutableIds: boolean;
  includeResourceData: boolean;
  /** Rich subscriptions: the properties the notifications carry (the resource's `$select`). */
  richSelect?: string[];
  /** Rich subscriptions: the certificate (base64 DER) notifications are encrypted for, and its id. */
  encryptionCertificate?: string;
  encryptionCertificateId?: string;
  latestSupportedTlsVersion: string;
  /** Until when the subscription's own access to the mailbox is authorized; delivery pauses after it. */
  authorizedUntilMs: number;
  createdMs: number;
  lastPatchMs: number | undefined;
  lastReauthorizeMs: number | undefined;
  reauthorizationNoticeSentMs: number | undefined;
}

export interface ChangeNotification {
  /** Change notifications carry one; lifecycle notifications do not. */
  id?: string;
  subscriptionId: string;
  subscriptionExpirationDateTime: string;
  changeType?: ChangeType;
  lifecycleEvent?: LifecycleEvent;
  resource?: string;
  resourceData?: Record<string, string>;
  /** Rich notifications: the item's selected properties, encrypted for the subscription's certificate. */
  encryptedContent?: Record<string, string>;
  clientState: string | null;
  tenantId: string;
}

export type NotificationState = 'pending' | 'delivered' | 'dropped';

export interface NotificationRecord {
  id: string;
  kind: 'change' | 'lifecycle';
  subscriptionId: string;
  url: string;
  changeType?: ChangeType;
  lifecycleEvent?: LifecycleEvent;
  resource?: string;
  eventId?: string;
  userId: string;
  tenantId: string;
  createdAt: string;
  state: NotificationState;
  attempts: number;
  deliveredAt?: string;
  /**
   * Why it was dropped: `silentDrop` (the `silentDropRate` fault: no `missed` follows), `injectedDrop`
   * (`deliveryDropRate`), `endpointInDropState`, `retriesExhausted`, `subscriptionGone`, `noLifecycleNotificationUrl`.
   */
  droppedReason?: string;
  /** An extra `updated` of one event edit (`calendarEditNotifications`): the id of that edit's first notification. */
  sameEditAs?: string;
  /** When a duplicate POST of it (`duplicateDeliveryRate`) was answered 2xx: it was delivered twice. */
  duplicateDeliveredAt?: string;
}

export type AttemptOutcome = 'delivered' | 'rejected' | 'slow' | 'timeout' | 'error';

export interface DeliveryAttemptRecord {
  deliveryId: string;
  url: string;
  kind: 'change' | 'lifecycle' | 'handshake';
  attempt: number;
  notificationIds: string[];
  at: string;
  durationMs: number;
  status?: number;
  error?: string;
  outcome: AttemptOutcome;
  /** An attempt of a duplicate POST (`duplicateDeliveryRate`) of notifications already delivered once. */
  duplicate?: true;
}

export interface RequestRecord {
  requestId: string;
  at: string;
  method: string;
  path: string;
  query: string;
  appId?: string;
  tenantId?: string;
  batchId?: string;
  status: number;
  errorCode?: string;
  durationMs: number;
}
