import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import { subscriptionCollection } from './subscription-collection.ts';
import type { SubscriptionRecord, Subscriptions } from '../model/subscription.ts';

/**
 * Keeps found records for a while, so a burst of notifications does not read the store for each one, and
 * unknown ids for a few seconds, so a flood of forged ids costs one read per id, not one per POST. Concurrent
 * lookups of one id share a single read (a burst arriving while the entry is missing or expired would
 * otherwise send one read each to the backend). A new subscription's first notification may find its id
 * remembered as unknown; its pending marker (`pendingId`) makes that a retry, not a loss.
 */
export class CachedSubscriptions implements Subscriptions {
  private readonly cache = new Map<string, { record: SubscriptionRecord | null; until: number }>();
  private readonly reading = new Map<string, Promise<SubscriptionRecord | undefined>>();
  /** Bumped by every write, so a read that started before one cannot cache what the write replaced. */
  private writes = 0;
  private readonly inner: Collection<SubscriptionRecord>;
  private readonly ttlMs: number;
  private readonly unknownTtlMs: number;
  private readonly maxEntries: number;

  constructor(store: DocumentStore, ttlMs = 60_000, unknownTtlMs = 5_000, maxEntries = 100_000) {
    this.inner = new Collection(store, subscriptionCollection);
    this.ttlMs = ttlMs;
    this.unknownTtlMs = unknownTtlMs;
    this.maxEntries = maxEntries;
  }

  peek(id: string): SubscriptionRecord | null | undefined {
    const hit = this.cache.get(id);
    return hit && hit.until > Date.now() ? hit.record : undefined;
  }

  get(id: string): Promise<SubscriptionRecord | undefined> {
    const hit = this.peek(id);
    if (hit !== undefined) return Promise.resolve(hit ?? undefined);
    let read = this.reading.get(id);
    if (!read) {
      const writesBefore = this.writes;
      const pending: Promise<SubscriptionRecord | undefined> = this.inner
        .get(id)
        .then((record) => {
          if (this.writes === writesBefore) this.remember(id, record ?? null);
          return record;
        })
        .finally(() => {
          // A write may have started a newer read of the same id meanwhile; that one stays shared.
          if (this.reading.get(id) === pending) this.reading.delete(id);
        });
      this.reading.set(id, (read = pending));
    }
    return read;
  }

  getFresh(id: string): Promise<SubscriptionRecord | undefined> {
    return this.inner.get(id);
  }

  private remember(id: string, record: SubscriptionRecord | null): void {
    // Bounded: forged ids must not grow the cache without limit; the oldest entries go first.
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, { record, until: Date.now() + (record ? this.ttlMs : this.unknownTtlMs) });
  }

  async put(record: SubscriptionRecord): Promise<void> {
    await this.inner.put(record);
    this.wrote(record.id);
    this.remember(record.id, record);
  }

  async delete(id: string): Promise<void> {
    await this.inner.delete(id);
    this.wrote(id);
    this.cache.delete(id);
  }

  private wrote(id: string): void {
    this.writes++;
    // A read already on its way may hold the old record; the next lookup reads afresh.
    this.reading.delete(id);
  }

  list(): Promise<SubscriptionRecord[]> {
    return this.inner.list();
  }
}
