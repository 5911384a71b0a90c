// The light entry (`@graph2kafka/core/http`): what an adapter needs before the app loads — the webhook entry,
// the handshake and response helpers — without pulling in Kafka, Graph or storage clients, so a cold start
// answers fast.
export { ConfigError } from './errors.ts';
export { jsonLogger, RequestLogs, silentLogger, type Logger } from './logger.ts';
export { answerHandshake } from './receive/handshake.ts';
export { jsonResponse, readLimited, type CoreRequest, type CoreResponse } from './model/http.ts';
export { graphWebhook, type WebhookApp } from './receive/webhook.ts';
export { serveApp } from './receive/loopback-server.ts';
export type { Admission } from './receive/admission-types.ts';
export { BODY_COST_FACTOR, DEFAULT_MAX_BODY_BYTES, defaultInflightBytes } from './config/receive-config.ts';
export {
  inflightBytesFromEnv,
  instanceAdmission,
  MemoryAdmission,
  overloaded,
  SMALL_POST_BYTES,
} from './receive/memory-admission.ts';
export { guardWire, maxBodyBytesFromEnv, type WireRules } from './receive/wire-guard.ts';
export { verifyRenewalCaller } from './timer/renewal-gate.ts';
export { renewalHttpEntry, renewalTimerEntry } from './timer/renewal-entry.ts';
export { lazy } from './work/lazy.ts';
