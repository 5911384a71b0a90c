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
export { startAzuriteTable, type AzuriteTable } from './azurite.ts';
export { fakeAzureCli, type FakeAzureCli } from './fake-azure-cli.ts';
export { startFakeKeyVault, type FakeKeyVault } from './fake-key-vault.ts';
export { startPostgres } from './postgres.ts';
export {
  awaitHandshake,
  buildAndInstallBundle,
  configErrorStack,
  shippedSourceMaps,
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
export { runTeamsScenario, teamsPlace, type TeamsOutcome, type TeamsPlace } from './teams-scenario.ts';
export { teamsProblems } from './teams-expectations.ts';
