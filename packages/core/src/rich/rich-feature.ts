import type { RichSettings } from '../config/rich-config.ts';
import type { Feature } from '../model/feature.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import type { Subscriptions } from '../model/subscription.ts';
import type { TokenClaims } from './token-claims.ts';

/** Forgetting expired token claims is quick; it never holds up the run for long. */
const RICH_SHARE_MS = 30_000;

const previousUnused = (rich: RichSettings, subscriptions: readonly SubscriptionRecord[]): string | undefined =>
  rich.previous && !subscriptions.some((r) => !r.pending && r.encryptionCertificateId === rich.previous!.id)
    ? rich.previous.id
    : undefined;

/**
 * Rich notifications' part of the timer run (forget expired validation-token claims; say when the previous
 * certificate can go) and of the status report (the same hint, as an action).
 */
export function richFeature(rich: RichSettings, claims: TokenClaims, subscriptions: Subscriptions): Feature {
  return {
    timer: {
      name: 'rich',
      shareMs: RICH_SHARE_MS,
      async run(_budget, progress) {
        // Used validation tokens are remembered until they expire (an hour): the timer forgets the expired ones.
        const pruned = await claims.prune(new Date().toISOString()).catch(() => 0);
        if (pruned) progress(`forgot ${pruned} expired validation-token claims`);
        const previous = previousUnused(rich, await subscriptions.list());
        if (previous)
          progress(
            `the previous rich-notification certificate ${previous} is no longer used: remove G2K_RICH_PREVIOUS_*`,
          );
        return { tokensForgotten: pruned };
      },
    },
    status: {
      name: 'rich',
      read({ subscriptions }) {
        const previous = previousUnused(rich, subscriptions);
        return Promise.resolve({
          value: { previousCertificateUnused: previous ?? null },
          actions: previous
            ? [
                `no subscription uses the previous rich-notification certificate ${previous} any more: remove G2K_RICH_PREVIOUS_CERTIFICATE_ID and G2K_RICH_PREVIOUS_PRIVATE_KEY (and its secret)`,
              ]
            : [],
          lines: [],
        });
      },
    },
  };
}
