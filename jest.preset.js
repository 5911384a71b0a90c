// Shared jest settings: TypeScript through swc (fast, no type checking; `pnpm typecheck` does that), and
// workspace packages resolved to their TypeScript sources through the `@graph2kafka/source` export condition.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@graph2kafka/source', 'node', 'node-addons'] },
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'commonjs' } },
    ],
  },
  // jose and @platformatic/kafka ship ESM only, and the OpenTelemetry exporters load modules with import(), which jest's VM refuses
  // without --experimental-vm-modules: let swc turn them into CommonJS like our own sources.
  transformIgnorePatterns: [
    '/node_modules/(?!(\\.pnpm/[^/]+/node_modules/)?(jose|@opentelemetry/otlp-exporter-base|@azure/monitor-opentelemetry-exporter|@platformatic/[^/]+|scule)/)',
  ],
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  // A test's default time, instead of jest's 5 s: most tests wait for a Kafka reader to start and for their records
  // to arrive (testkit's READER_START_MS + READ_TIMEOUT_MS, twice over for a before and an after), which a busy
  // 2-core machine can stretch well past 5 s. A test that waits on longer budgets (a timer run, Graph's
  // redelivery) sets its own, derived from them. testkit/tests/test-timeout.test.ts keeps the two in step.
  testTimeout: 60_000,
  moduleFileExtensions: ['ts', 'js', 'json'],
};
