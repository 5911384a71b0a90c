/** What one reconcile run (or one ops command) did, for the timer's log, the health record and the CLI. */
export interface ReconcileReport {
  created: string[];
  renewed: string[];
  recreated: string[];
  deleted: string[];
  resynced: string[];
  /** Targets whose snapshot completed in this run. */
  snapshotted: string[];
  /** Targets the anti-entropy sweep brought up to date in this run. */
  swept: number;
  unchanged: number;
  /** Targets not looked at because the run's deadline came first; the next run takes them, most urgent first. */
  deferred: number;
  errors: string[];
  /** Tenants whose subscriptions could not be reconciled at all (consent revoked, say), with why. */
  skippedTenants: Array<{ tenantId: string; reason: string }>;
  /** Tenants whose Graph listing was read and acted on in this run. */
  audited: string[];
}

export const emptyReport = (): ReconcileReport => ({
  created: [],
  renewed: [],
  recreated: [],
  deleted: [],
  resynced: [],
  snapshotted: [],
  swept: 0,
  unchanged: 0,
  deferred: 0,
  errors: [],
  skippedTenants: [],
  audited: [],
});

/** Runs `fn` over `items`, at most `limit` at once, in order of start. */
export async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
