import {
  BODY_COST_FACTOR,
  defaultInflightBytes,
  MAX_INFLIGHT_BYTES,
  MIN_INFLIGHT_BYTES,
} from '../receive/memory-admission.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../receive/wire-guard.ts';
import type { DesiredEntry } from './desired-state.ts';
import type { EnvReader } from './env-reader.ts';

/** Receiving notifications: which tenants are accepted, the time budget, body, memory and repair-queue bounds. */
export function readReceive(
  r: EnvReader,
  tenants: { explicit: boolean; allowed: string[]; desired: DesiredEntry[] },
): {
  allowedTenants: Set<string>;
  timeBudgetMs: number;
  maxBodyBytes: number;
  inflightBytesMax: number;
  repairQueueMax: number;
} {
  const maxBodyBytes = r.int('G2K_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1_024, 33_554_432);
  const inflightBytesMax = r.int(
    'G2K_INFLIGHT_BYTES_MAX',
    defaultInflightBytes(),
    MIN_INFLIGHT_BYTES,
    MAX_INFLIGHT_BYTES,
  );
  // A POST of the largest accepted size reserves this much, in the half large POSTs share: were it larger than
  // that half, such a POST would get 503 forever and Graph would retry it for 4 hours in vain.
  const largest = 2 * BODY_COST_FACTOR * maxBodyBytes;
  if (inflightBytesMax < largest)
    r.problems.push(
      `G2K_INFLIGHT_BYTES_MAX (${inflightBytesMax}) must be at least ${largest}: twice ${BODY_COST_FACTOR}× G2K_MAX_BODY_BYTES (${maxBodyBytes}), or the largest POST accepted could never be admitted. Raise it, or lower G2K_MAX_BODY_BYTES.`,
    );
  return {
    // Without an explicit list: the home tenant and every tenant the desired state subscribes in.
    allowedTenants: new Set(
      tenants.explicit ? tenants.allowed : [...tenants.allowed, ...tenants.desired.map((d) => d.tenantId)],
    ),
    timeBudgetMs: r.int('G2K_TIME_BUDGET_MS', 2_000, 100, 2_800),
    maxBodyBytes,
    inflightBytesMax,
    repairQueueMax: r.int('G2K_REPAIR_QUEUE_MAX', 100_000, 100, 10_000_000),
  };
}
