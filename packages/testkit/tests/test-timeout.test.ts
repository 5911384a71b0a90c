import config from '../../../jest.config.js';
import { READ_TIMEOUT_MS, READER_START_MS } from '../src/topic-reader.ts';

test("jest's default test time covers a reader's start and two full waits for records", () => {
  expect(config.testTimeout).toBeGreaterThanOrEqual(READER_START_MS + 2 * READ_TIMEOUT_MS);
});

// Jest takes testTimeout from the root configuration only (a project's copy is ignored without a word): this test
// outlives jest's own 5 s default, so it fails if the setting stops reaching the tests.
test('the default test time is in force, not jest’s 5 s', async () => {
  await new Promise((resolve) => setTimeout(resolve, 5_500));
});
