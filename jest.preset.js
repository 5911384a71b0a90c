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
  // jose ships ESM only; let swc turn it into CommonJS like our own sources.
  transformIgnorePatterns: ['/node_modules/(?!(\\.pnpm/[^/]+/node_modules/)?jose/)'],
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
};
