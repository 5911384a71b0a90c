/** @type {import('jest').Config} */
export default {
  // The exit watchdog replaces --forceExit: see scripts/exit-watchdog.cjs.
  reporters: ['default', '<rootDir>/scripts/exit-watchdog.cjs'],
  // A test's default time, instead of jest's 5 s: most tests wait for a Kafka reader to start and for their records
  // to arrive (testkit's READER_START_MS + READ_TIMEOUT_MS, twice over for a before and an after), which a busy
  // 2-core machine can stretch well past 5 s. A test that waits on longer budgets (a timer run, Graph's
  // redelivery) sets its own, derived from them. It is a global option: jest ignores it in a project's config.
  // testkit/tests/test-timeout.test.ts keeps the two in step.
  testTimeout: 60_000,
  projects: ['<rootDir>/packages/*/jest.config.js', '<rootDir>/infra/jest.config.js'],
};
