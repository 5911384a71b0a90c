import { DEFAULT_MAX_BODY_BYTES } from '../receive/wire-guard.ts';
import type { DesiredEntry } from './desired-state.ts';
import type { EnvReader } from './env-reader.ts';

/** Receiving notifications: which tenants are accepted, the time budget, body and repair-queue bounds. */
export function readReceive(
  r: EnvReader,
  tenants: { explicit: boolean; allowed: string[]; desired: DesiredEntry[] },
): { allowedTenants: Set<string>; timeBudgetMs: number; maxBodyBytes: number; repairQueueMax: number } {
  return {
    // Without an explicit list: the home tenant and every tenant the desired state subscribes in.
    allowedTenants: new Set(
      tenants.explicit ? tenants.allowed : [...tenants.allowed, ...tenants.desired.map((d) => d.tenantId)],
    ),
    timeBudgetMs: r.int('G2K_TIME_BUDGET_MS', 2_000, 100, 2_800),
    maxBodyBytes: r.int('G2K_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1_024, 33_554_432),
    repairQueueMax: r.int('G2K_REPAIR_QUEUE_MAX', 100_000, 100, 10_000_000),
  };
}
