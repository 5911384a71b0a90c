import { errorMessage } from '../errors.ts';
import type { Feature } from '../model/feature.ts';
import type { KeyFence } from './fence-types.ts';

/**
 * How long the key fence remembers a key after its last claim: far beyond any record still in flight (Graph
 * retries a POST for 4 hours; a repair is given up after 48 runs), so a forgotten key never loses a race.
 */
const FENCE_MEMORY_MS = 7 * 86_400_000;
/**
 * A key whose last record was a tombstone is forgotten sooner (past Graph's 4 hours of retries): made-up ids in
 * forged POSTs end so, and must not fill the fence for a week. A late read of such a key finds it gone again.
 */
const FENCE_GONE_MEMORY_MS = 6 * 3_600_000;
/** The longest the timer spends forgetting fence rows (Table Storage deletes them one by one). */
const FENCE_PRUNE_MS = 30_000;

/** The key fence's part of the timer run: forgetting keys nothing can race any more. */
export function fenceFeature(fence: KeyFence): Feature {
  return {
    timer: {
      name: 'fence',
      shareMs: FENCE_PRUNE_MS,
      async run(budget, progress) {
        const forgotten = await fence
          .prune(new Date(Date.now() - FENCE_MEMORY_MS), new Date(Date.now() - FENCE_GONE_MEMORY_MS), budget.deadline)
          .catch((err: unknown) => {
            progress(`pruning the key fence failed (retried next run): ${errorMessage(err)}`);
            return 0;
          });
        if (forgotten)
          progress(`the key fence forgot ${forgotten} key(s) (unclaimed for 7 days, or 6 hours after a tombstone)`);
        return { forgotten };
      },
    },
  };
}
