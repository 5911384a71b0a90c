import type { Config } from 'jest';

/** The root jest configuration (jest.config.js): its global options, such as the default test time. */
declare const config: Config;
export default config;
