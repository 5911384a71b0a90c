import type { SubscriptionContext } from './context.ts';
import { KINDS } from '../kinds/index.ts';
import type { MailboxSyncState } from './sync-types.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import { forEachLimited, type ReconcileReport } from './report.ts';
import { describe, type SyncTarget } from './resync.ts';
import { sameTarget } from './want.ts';

/** Delta rounds run at once by one timer run (each is a few sequential Graph requests). */
const ROUNDS_AT_ONCE = 8;
type RoundMode = 'snapshot' | 'resync' | 'sweep';

/** The timer's delta rounds: snapshots of new targets, resyncs owed, and the anti-entropy sweep. */
export class DeltaRounds {
  private readonly ctx: SubscriptionContext;

  constructor(ctx: SubscriptionContext) {
    this.ctx = ctx;
  }

  /**
   * Delta rounds owed or due, within `deadline`: snapshots of new targets and resyncs owed (after missed or
   * removed subscriptions) first, then the anti-entropy sweep of the targets whose last round is older than
   * their interval, the longest-waiting first. A few targets at once; what the deadline leaves waits for the
   * next run, where it is still first in line.
   */
  async run(report?: ReconcileReport, deadline = Infinity, stored?: SubscriptionRecord[]): Promise<void> {
    const states = (await this.ctx.syncStates.list()).filter((s) => !s.scope);
    if (!states.length) return;
    let records = (stored ?? (await this.ctx.store.list())).filter((r) => !r.pending);
    // A snapshot owed by a target created in this very run: its record is newer than the run's listing.
    if (stored && states.some((s) => s.snapshotPending && !records.some((r) => sameTarget(r, s))))
      records = (await this.ctx.store.list()).filter((r) => !r.pending);
    const skipped = new Set(report?.skippedTenants.map((t) => t.tenantId.toLowerCase()) ?? []);
    const now = Date.now();
    const work: Array<{ state: MailboxSyncState; sub: SubscriptionRecord | undefined; mode: RoundMode }> = [];
    for (const state of states) {
      // A tenant this run could not reach (consent revoked) is left alone until it can be.
      if (skipped.has(state.tenantId.toLowerCase())) continue;
      const sub = records.find((r) => sameTarget(r, state));
      if (state.snapshotPending) {
        // A target no longer subscribed owes no snapshot.
        if (sub) work.push({ state, sub, mode: 'snapshot' });
      } else if (state.resyncPending) work.push({ state, sub, mode: 'resync' });
      else {
        const hours = sub?.sweepHours ?? this.ctx.settings.sweepHours;
        if (sub && hours > 0 && now - Date.parse(state.updatedAt) >= hours * 3_600_000)
          work.push({ state, sub, mode: 'sweep' });
      }
    }
    const order: Record<RoundMode, number> = { snapshot: 0, resync: 1, sweep: 2 };
    work.sort((a, b) => order[a.mode] - order[b.mode] || Date.parse(a.state.updatedAt) - Date.parse(b.state.updatedAt));
    await forEachLimited(work, ROUNDS_AT_ONCE, async ({ state, sub, mode }) => {
      if (Date.now() >= deadline) return;
      const kind = KINDS[state.kind ?? 'events'];
      const target = { userId: state.userId, ...(state.folderId ? { folderId: state.folderId } : {}) };
      const t: SyncTarget = { tenantId: state.tenantId, kind, target, select: sub?.select, expand: sub?.expand };
      const label = describe(t);
      try {
        const id = sub?.id ?? '';
        const result =
          mode === 'snapshot'
            ? await this.ctx.resyncer.snapshot(t, id, deadline)
            : mode === 'sweep'
              ? await this.ctx.resyncer.sweep(t, id, deadline)
              : await this.ctx.resyncer.resync(t, id, deadline);
        if (!result.complete) return;
        if (mode === 'snapshot') report?.snapshotted.push(label);
        else if (mode === 'sweep') {
          if (report) report.swept++;
        } else report?.resynced.push(kind.name === 'events' ? state.userId : label);
      } catch (err) {
        report?.errors.push(`${mode} ${label}: ${(err as Error).message}`);
      }
    });
  }
}
