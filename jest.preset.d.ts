// Types of jest.preset.js, for the test that reads its settings.
import type { Config } from 'jest';

declare const preset: Config;
export default preset;
