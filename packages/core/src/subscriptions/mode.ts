import type { SubscriptionMode } from '../model/subscription-mode.ts';

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
