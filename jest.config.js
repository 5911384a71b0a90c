/** @type {import('jest').Config} */
export default {
  // The exit watchdog replaces --forceExit: see scripts/exit-watchdog.cjs.
  reporters: ['default', '<rootDir>/scripts/exit-watchdog.cjs'],
  projects: ['<rootDir>/packages/*/jest.config.js', '<rootDir>/infra/jest.config.js'],
};
