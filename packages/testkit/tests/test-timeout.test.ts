import preset from '../../../jest.preset.js';
import { READ_TIMEOUT_MS, READER_START_MS } from '../src/topic-reader.ts';

test("jest's default test time covers a reader's start and two full waits for records", () => {
  expect(preset.testTimeout).toBeGreaterThanOrEqual(READER_START_MS + 2 * READ_TIMEOUT_MS);
});
