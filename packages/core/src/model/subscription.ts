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
