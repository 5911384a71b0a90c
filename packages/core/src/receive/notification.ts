/** A change notification as Graph sends it (changeNotification, v1.0), after the schema check. */
export interface ChangeNotification {
  id: string | undefined;
  subscriptionId: string;
  subscriptionExpirationDateTime: string | undefined;
  tenantId: string;
  clientState: string | null;
  changeType: 'created' | 'updated' | 'deleted';
  resource: string;
  resourceData: { id: string; '@odata.type'?: string; '@odata.id'?: string; '@odata.etag'?: string };
  /** The mailbox and event the resource names. */
  userId: string;
  eventId: string;
}

export interface LifecycleNotification {
  subscriptionId: string;
  subscriptionExpirationDateTime: string | undefined;
  tenantId: string;
  clientState: string | null;
  lifecycleEvent: 'missed' | 'subscriptionRemoved' | 'reauthorizationRequired';
}

/** Why a notification was not produced. */
export type Rejection = 'unknown_subscription' | 'client_state_mismatch' | 'tenant_not_allowed' | 'tenant_mismatch';
