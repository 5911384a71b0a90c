/** @type {import('jest').Config} */
export default {
  projects: ['<rootDir>/packages/*/jest.config.js'],
};
