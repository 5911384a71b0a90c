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
  moduleFileExtensions: ['ts', 'js', 'json'],
};
