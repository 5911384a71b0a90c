import type { Feature } from '../model/feature.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import { syncCollection } from './sync-collection.ts';
import type { MailboxSyncState } from './sync-types.ts';

interface RoundsStatus {
  snapshotting: number;
  snapshotItems: number;
  resyncing: number;
  sweepOverdue: number;
}

/**
 * The delta rounds' part of the status report: targets whose snapshot is under way (items produced so far),
 * resyncs owed, and targets whose last round (the sweep's) is older than twice the default sweep interval. The
 * rounds themselves run inside the reconcile's share of the timer (`DeltaRounds`).
 */
export function roundsFeature(store: DocumentStore, sweepHours: number): Feature {
  const syncStates = new Collection(store, syncCollection);
  return {
    status: {
      name: 'rounds',
      async read({ now, subscriptions }) {
        const r = roundsOf(await syncStates.list(), subscriptions, sweepHours, now);
        return {
          value: r,
          actions: r.sweepOverdue
            ? [
                `${r.sweepOverdue} target(s) had no delta round for over twice G2K_SWEEP_HOURS: the timer runs out of time before the sweep reaches them (check its runs) or their rounds fail`,
              ]
            : [],
          lines: [
            `Delta rounds: snapshots under way ${r.snapshotting} (${r.snapshotItems} item(s) produced so far), resyncs owed ${r.resyncing}, sweeps overdue ${r.sweepOverdue}`,
          ],
        };
      },
    },
  };
}

/** Snapshot progress, resyncs owed and overdue sweeps, from the targets' sync states. */
function roundsOf(
  states: MailboxSyncState[],
  records: readonly SubscriptionRecord[],
  sweepHours: number,
  now: number,
): RoundsStatus {
  const key = (s: {
    tenantId: string;
    kind?: string | undefined;
    userId: string;
    folderId?: string | undefined;
  }): string => `${s.tenantId.toLowerCase()}|${s.kind ?? 'events'}|${s.userId.toLowerCase()}|${s.folderId ?? ''}`;
  // Targets still subscribed: a state left behind by a removed subscription is swept no more.
  const subscribed = new Set(records.filter((r) => !r.pending).map(key));
  const own = states.filter((s) => !s.scope && subscribed.has(key(s)));
  const snapshotting = own.filter((s) => s.snapshotPending);
  const under = new Set(snapshotting.map(key));
  return {
    snapshotting: snapshotting.length,
    snapshotItems: states.filter((s) => under.has(key(s))).reduce((n, s) => n + (s.snapshotItems ?? 0), 0),
    resyncing: own.filter((s) => s.resyncPending).length,
    sweepOverdue: sweepHours
      ? own.filter((s) => !s.snapshotPending && now - Date.parse(s.updatedAt) > 2 * sweepHours * 3_600_000).length
      : 0,
  };
}
