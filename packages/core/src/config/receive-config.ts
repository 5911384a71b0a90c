import { getHeapStatistics } from 'node:v8';
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

/** G2K_MAX_BODY_BYTES's default; config.ts checks the setting itself and reports a bad value. */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/**
 * Heap bytes one body byte may occupy while its POST is in flight: the body as a string (two bytes a character
 * once it holds one non-Latin-1 character), JSON.parse's objects, and the items built from them. parseEnvelope
 * reads no body denser than one JSON value per MIN_BYTES_PER_VALUE bytes, and V8 spends at most ~48 bytes on a
 * value (a key of an object in dictionary mode, measured on Node 22): 2 + 48 / 8 = 8.
 */
export const BODY_COST_FACTOR = 8;

/** G2K_INFLIGHT_BYTES_MAX's bounds; config.ts reports a value outside them. */
export const MIN_INFLIGHT_BYTES = 16_777_216;
export const MAX_INFLIGHT_BYTES = 17_179_869_184;

/**
 * G2K_INFLIGHT_BYTES_MAX's default: half the instance's V8 heap limit, so the deployed heap options decide it
 * (GCP: `--max-old-space-size=256` gives ~134 MB; Azure's 2,048 MB instances leave V8 its default, ~1/4 of
 * the memory: ~270 MB). The other half keeps the app's live heap (~25 MB under load) and the GC's headroom.
 */
export function defaultInflightBytes(): number {
  return Math.max(MIN_INFLIGHT_BYTES, Math.floor(getHeapStatistics().heap_size_limit / 2));
}
