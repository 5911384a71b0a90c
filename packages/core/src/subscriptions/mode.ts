import type { DesiredEntry } from '../config/desired-state.ts';
import type { ResourceKind, Target } from '../kinds/index.ts';
import type { SubscriptionRecord } from '../state/subscription-store.ts';
import type { NewSubscription } from './subscription-api.ts';

/** A certificate change a renewal carries (rich subscriptions move to the current certificate on renewal). */
export interface Rotation {
  encryptionCertificate: string;
  encryptionCertificateId: string;
}

/**
 * How subscriptions of one delivery mode are made and kept: basic notifications (each item read from Graph)
 * or rich ones (the item inside the notification, encrypted; `rich/rich-mode.ts`). Everything the planner,
 * the writes and the renewals do differently per mode is asked of it, so they hold no branch of their own.
 */
export interface SubscriptionMode {
  readonly name: 'basic' | 'rich';
  /** The subscription resource of a target (a rich one names the `$select` Graph sends). */
  resource(kind: ResourceKind, target: Target, entry: DesiredEntry): string;
  /** What reads of the target's items (unproven items, repairs, resyncs) ask for. */
  readSelect(kind: ResourceKind, entry: DesiredEntry): string | undefined;
  /** The longest lifetime Graph grants the kind's subscriptions in this mode, in minutes. */
  maxLifetimeMinutes(kind: ResourceKind): number;
  /** What a create adds to Graph's body and to the stored record; throws when the mode cannot be served. */
  createFields(resource: string): {
    body: Partial<NewSubscription>;
    record: Partial<SubscriptionRecord>;
  };
  /** The certificate a renewal of `record` moves it to, if it must move. */
  rotation(record: SubscriptionRecord): Rotation | undefined;
}

export const basicMode: SubscriptionMode = {
  name: 'basic',
  resource: (kind, target) => kind.subscriptionResource(target),
  readSelect: (_kind, entry) => entry.select,
  maxLifetimeMinutes: (kind) => kind.maxLifetimeMinutes,
  createFields: () => ({ body: {}, record: {} }),
  rotation: () => undefined,
};

/** The modes an app serves: basic always, rich when its certificate is configured (`rich/rich-mode.ts`). */
export interface SubscriptionModes {
  basic: SubscriptionMode;
  rich?: SubscriptionMode;
}

/** The mode of a desired entry or stored record; rich without a rich mode configured fails at the create. */
export function modeOf(modes: SubscriptionModes, name: 'basic' | 'rich' | undefined): SubscriptionMode {
  if (name !== 'rich') return modes.basic;
  return modes.rich ?? unconfiguredRich;
}

const unconfiguredRich: SubscriptionMode = {
  ...basicMode,
  name: 'rich',
  createFields: (resource) => {
    throw new Error(
      `${resource}: mode "rich" needs G2K_RICH_CERTIFICATE_ID, G2K_RICH_CERTIFICATE and G2K_RICH_PRIVATE_KEY`,
    );
  },
};
