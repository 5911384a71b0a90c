export { graphSimEnv, pipelineEnv, richEnv, type PipelineEnv } from './pipeline-env.ts';
export { createSubscription, eventChangeBody, simCall, simToken, type TestSubscription } from './subscriptions.ts';
export { recordSchemaError, type RecordToValidate } from './record-validator.ts';
export { decodeCloudEvent } from './cloudevent-decoder.ts';
export { ChangelogTable, type ChangelogRow } from './changelog-table.ts';
export {
  READ_TIMEOUT_MS,
  READER_START_MS,
  recordValue,
  TopicReader,
  type ReaderOptions,
  type ReadRecord,
} from './topic-reader.ts';
export { PrivateBroker } from './private-broker.ts';
export { freePort } from './free-port.ts';
export { deployedGcpNodeOptions, emptyArraysBody, postRaw, startGcpFunction } from './hostile.ts';
export { startAzuriteTable } from './azurite.ts';
export { startPostgres } from './postgres.ts';
export {
  awaitHandshake,
  buildAndInstallBundle,
  configErrorStack,
  HANDSHAKE_WAIT_MS,
  describeBundle,
  stopChild,
  workspaceRoot,
  type InstalledBundle,
} from './deploy-bundle.ts';
export {
  compareConvergence,
  DEFAULT_COMPARED_FIELDS,
  materialize,
  type ConvergenceOptions,
  type ConvergenceReport,
  type ExpectedItem,
  type MaterializedKey,
  type Mismatch,
} from './convergence.ts';
