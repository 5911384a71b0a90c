import { defineCollection } from '../state/collection.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';

/** Subscriptions graph2kafka created (and pending markers, `pending-marker.ts`), by subscription id. */
export const subscriptionCollection = defineCollection<SubscriptionRecord>({
  name: 'subscription',
  folder: 'subscriptions',
  id: (record) => record.id,
});
