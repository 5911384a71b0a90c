import { getHeapStatistics } from 'node:v8';
import {
  BODY_COST_FACTOR,
  defaultInflightBytes,
  inflightBytesFromEnv,
  MemoryAdmission,
  overloaded,
  SMALL_POST_BYTES,
} from '../src/http-entry.ts';
import { ConfigError, loadConfig } from '../src/index.ts';

const MIB = 1_048_576;
const BUDGET = 64 * MIB;

describe('memory admission: a budget per instance for POSTs in flight', () => {
  it('reserves each POST at its cost before it is read, and refuses what does not fit until shares come back', () => {
    const admission = new MemoryAdmission({ maxBytes: BUDGET, maxBodyBytes: MIB });
    // Large POSTs share half the budget: four of 1 MiB at 8× fit, the fifth does not.
    const large = Array.from({ length: 4 }, () => admission.admit(MIB));
    expect(large.every(Boolean)).toBe(true);
    expect(admission.reserved).toBe(4 * MIB * BODY_COST_FACTOR);
    expect(admission.admit(MIB)).toBeUndefined();
    // The other half stays for POSTs of Graph's size.
    const small = Array.from({ length: 64 }, () => admission.admit(SMALL_POST_BYTES));
    expect(small.every(Boolean)).toBe(true);
    expect(admission.admit(SMALL_POST_BYTES)).toBeUndefined();
    expect(admission.refused).toBe(2);
    large[0]!.release();
    large[0]!.release();
    expect(admission.admit(MIB)).toBeDefined();
    expect(admission.admit(MIB)).toBeUndefined();
  });

  it('counts a POST without a usable Content-Length at the body limit, and one over the limit at the limit', () => {
    const admission = new MemoryAdmission({ maxBytes: BUDGET, maxBodyBytes: MIB });
    for (const declared of [undefined, Number('nope'), -1, 50 * MIB]) {
      const share = admission.admit(declared);
      expect(admission.reserved).toBe(MIB * BODY_COST_FACTOR);
      share!.release();
    }
    expect(admission.reserved).toBe(0);
  });

  it('answers 503 with Retry-After, which Graph redelivers', () => {
    expect(overloaded()).toMatchObject({ status: 503, headers: { 'Retry-After': '2' } });
    expect(JSON.parse(overloaded().body)).toMatchObject({ error: { code: 'Overloaded' } });
  });

  it('defaults to half the heap limit; the adapters fall back to it on a bad value, the configuration reports it', async () => {
    expect(defaultInflightBytes()).toBe(Math.floor(getHeapStatistics().heap_size_limit / 2));
    expect(inflightBytesFromEnv({ G2K_INFLIGHT_BYTES_MAX: '33554432' })).toBe(33_554_432);
    expect(inflightBytesFromEnv({ G2K_INFLIGHT_BYTES_MAX: 'lots' })).toBe(defaultInflightBytes());
    const env = {
      AZURE_TENANT_ID: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
      AZURE_CLIENT_ID: '1d5c2b8a-7e3f-4c91-b6a0-2f8e9d4c7b15',
      AZURE_CLIENT_SECRET: 'x',
      KAFKA_BROKERS: 'localhost:9092',
      G2K_STATE_STORE: 'file:/tmp/g2k-admission-test',
    };
    expect((await loadConfig(env)).inflightBytesMax).toBe(defaultInflightBytes());
    const problems = async (extra: Record<string, string>) =>
      loadConfig({ ...env, ...extra }).then(
        () => [],
        (err: unknown) => (err instanceof ConfigError ? err.problems : [String(err)]),
      );
    expect(await problems({ G2K_INFLIGHT_BYTES_MAX: '1000' })).toEqual([
      "G2K_INFLIGHT_BYTES_MAX must be a whole number from 16777216 to 17179869184, got '1000'.",
    ]);
    expect(await problems({ G2K_INFLIGHT_BYTES_MAX: String(16 * MIB), G2K_MAX_BODY_BYTES: String(2 * MIB) })).toEqual([
      'G2K_INFLIGHT_BYTES_MAX (16777216) must be at least 33554432: twice 8× G2K_MAX_BODY_BYTES (2097152), or the largest POST accepted could never be admitted. Raise it, or lower G2K_MAX_BODY_BYTES.',
    ]);
  });
});
