import type { Feature } from '../model/feature.ts';
import { STATUS_LISTED, STATUS_THRESHOLDS } from '../model/status-thresholds.ts';
import type { LifecycleActions } from './lifecycle.ts';

/** Lifecycle actions left by the background drains take a minute of the timer's run. */
const LIFECYCLE_SHARE_MS = 60_000;

/** Lifecycle actions' part of the timer run (drain what is owed) and of the status report (what waits). */
export function lifecycleFeature(lifecycle: LifecycleActions): Feature {
  return {
    timer: {
      name: 'lifecycle',
      shareMs: LIFECYCLE_SHARE_MS,
      async run(budget, progress) {
        const figures = await lifecycle.drain(budget);
        if (figures.done || figures.failed || figures.abandoned || figures.left)
          progress(
            `lifecycle actions done ${figures.done}, failed ${figures.failed}, given up ${figures.abandoned}, left ${figures.left}`,
          );
        return figures;
      },
    },
    status: {
      name: 'lifecycle',
      async read({ now }) {
        const owed = await lifecycle.owed(STATUS_LISTED);
        const oldest = owed.reduce<string | null>((o, a) => (o === null || a.receivedAt < o ? a.receivedAt : o), null);
        const late = oldest !== null && now - Date.parse(oldest) > STATUS_THRESHOLDS.repairWaitingHours * 3_600_000;
        return {
          value: { owed: owed.length, oldestReceivedAt: oldest },
          actions: late
            ? [
                `${owed.length} lifecycle action(s) wait since ${oldest} (reauthorize, recreate or resync failing): check the logs for "a lifecycle action failed"`,
              ]
            : [],
          lines: [`Lifecycle actions owed: ${owed.length}${oldest ? `, oldest since ${oldest}` : ''}`],
        };
      },
    },
  };
}
