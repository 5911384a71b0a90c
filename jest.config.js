/** @type {import('jest').Config} */
export default {
  projects: ['<rootDir>/packages/*/jest.config.js', '<rootDir>/infra/jest.config.js'],
};
