export { GraphSim, type GraphSimUrls, type SimEventView } from './sim.ts';
export type { TeamsMessageRef } from './operations.ts';
export type { SimTeamsState } from './views.ts';
export type { ChatType, MessageInput } from './teams.ts';
export {
  CONTOSO_TENANT_ID,
  DEV_APP_ID,
  DEV_APP_SECRET,
  FABRIKAM_TENANT_ID,
  resolveOptions,
  type FaultOptions,
  type GraphSimInput,
  type GraphSimOptions,
} from './options.ts';
export { encodeValidationToken, makeValidationToken } from './handshake.ts';
export { GraphError, SimUsageError } from './errors.ts';
export type { EndpointState } from './delivery/endpoint-health.ts';
export type { Redelivery } from './delivery/dispatcher.ts';
export { deliveryWindowMs } from './delivery/window.ts';
export type { FaultRule, FaultRuleInput } from './faults.ts';
export type {
  ChangeNotification,
  ChangeType,
  DeliveryAttemptRecord,
  LifecycleEvent,
  NotificationRecord,
  RequestRecord,
  Subscription,
} from './types.ts';
export { makeTlsMaterial, type TlsMaterial } from './tls.ts';
export { checkCertificate, encryptResource, type SimEncryptedContent } from './rich/encrypt.ts';
export { CHANGE_TRACKING_APP_ID } from './auth/token-issuer.ts';
