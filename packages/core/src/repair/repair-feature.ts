import type { Feature } from '../model/feature.ts';
import { STATUS_LISTED, STATUS_THRESHOLDS } from '../model/status-thresholds.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import { repairCollection } from './repair-collection.ts';
import type { Repairer } from './repairer.ts';

/** Repairing unenriched records takes the timer's second share, after the reconcile. */
const REPAIR_SHARE_MS = 3 * 60_000;

/** The repair queue's part of the timer run (drain it) and of the status report (its backlog). */
export function repairFeature(repairer: Repairer, store: DocumentStore): Feature {
  const repairs = new Collection(store, repairCollection);
  return {
    timer: {
      name: 'repair',
      shareMs: REPAIR_SHARE_MS,
      async run(budget, progress) {
        const repair = await repairer.drain(budget.deadline);
        progress(
          `repaired ${repair.repaired}, gone ${repair.gone}, abandoned ${repair.abandoned}, still waiting ${repair.left}`,
        );
        return { ...repair };
      },
    },
    status: {
      name: 'repair',
      async read({ now }) {
        const waiting = await repairs.list({ limit: STATUS_LISTED });
        const atLeast = waiting.length >= STATUS_LISTED;
        const oldest = waiting.reduce<string | null>(
          (o, r) => (o === null || r.firstSeenAt < o ? r.firstSeenAt : o),
          null,
        );
        const actions =
          oldest && now - Date.parse(oldest) > STATUS_THRESHOLDS.repairWaitingHours * 3_600_000
            ? [
                `${waiting.length}${atLeast ? '+' : ''} record(s) wait for repair, the oldest since ${oldest}: Graph still refuses the reads (throttling, consent) or the timer does not run; graph2kafka repair retries now`,
              ]
            : [];
        return {
          value: { waiting: waiting.length, atLeast, oldestFirstSeenAt: oldest },
          actions,
          lines: [
            `Repair queue: ${waiting.length}${atLeast ? '+' : ''} waiting${oldest ? `, oldest since ${oldest}` : ''}`,
          ],
        };
      },
    },
  };
}
