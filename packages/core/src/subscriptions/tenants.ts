import type { Config, SubscriptionSettings } from '../config/config.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';

/** Every tenant there is work in: the desired state's, the home tenant, and any a stored record names. */
export function tenantsOf(config: Config, settings: SubscriptionSettings, stored: SubscriptionRecord[]): string[] {
  return [
    ...new Set([
      config.graph.homeTenantId,
      ...settings.desired.map((d) => d.tenantId),
      ...stored.map((r) => r.tenantId.toLowerCase()),
    ]),
  ];
}
