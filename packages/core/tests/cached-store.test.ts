import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Collection, FileDocumentStore, type SubscriptionRecord } from '../src/index.ts';
import { CachedSubscriptions } from '../src/subscriptions/subscription-cache.ts';
import { subscriptionCollection } from '../src/subscriptions/subscription-collection.ts';
import type { CollectionLayout, Doc } from '../src/state/document-types.ts';

/** A real file store that counts reads and can hold their answers until the test lets them go. */
class CountingStore extends FileDocumentStore {
  reads = 0;
  private held: Array<() => void> | undefined;

  hold(): void {
    this.held = [];
  }

  /** Resolves once `n` reads have their answer and wait to give it. */
  async holding(n: number): Promise<void> {
    while ((this.held?.length ?? 0) < n) await new Promise((r) => setTimeout(r, 1));
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const go of held) go();
  }

  override async get(collection: CollectionLayout, id: string): Promise<Doc | undefined> {
    this.reads++;
    const found = await super.get(collection, id);
    if (this.held) await new Promise<void>((go) => this.held!.push(go));
    return found;
  }
}

const record = (id: string, clientState = 'secret-1'): SubscriptionRecord => ({
  id,
  tenantId: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
  userId: 'user-1',
  resource: 'users/user-1/events',
  changeType: 'created,updated,deleted',
  clientState,
  notificationUrl: 'https://example.test/notify',
  lifecycleNotificationUrl: undefined,
  expirationDateTime: '2026-12-01T00:00:00Z',
  createdAt: '2026-11-25T00:00:00Z',
  updatedAt: '2026-11-25T00:00:00Z',
});

describe('cached subscription store', () => {
  let inner: CountingStore;
  let writer: Collection<SubscriptionRecord>;
  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'g2k-cache-'));
    inner = new CountingStore(dir);
    // Another instance (the renewal function) writing the same state behind the cache's back.
    writer = new Collection(new FileDocumentStore(dir), subscriptionCollection);
    await writer.put(record('sub-1'));
  });

  it('serves repeated lookups from memory within the time to live, and reads again after it', async () => {
    const store = new CachedSubscriptions(inner, 50);
    for (let i = 0; i < 5; i++) expect((await store.get('sub-1'))?.clientState).toBe('secret-1');
    expect(inner.reads).toBe(1);
    await writer.put(record('sub-1', 'secret-2'));
    await new Promise((r) => setTimeout(r, 80));
    expect((await store.get('sub-1'))?.clientState).toBe('secret-2');
    expect(inner.reads).toBe(2);
  });

  it('lets a burst of lookups of one id share a single read', async () => {
    const store = new CachedSubscriptions(inner);
    inner.hold();
    const burst = Array.from({ length: 50 }, () => store.get('sub-1'));
    await inner.holding(1);
    inner.release();
    const found = await Promise.all(burst);
    expect(found.every((r) => r?.clientState === 'secret-1')).toBe(true);
    expect(inner.reads).toBe(1);
  });

  it('remembers an unknown id only briefly: a subscription stored elsewhere is found once that passes', async () => {
    const store = new CachedSubscriptions(inner, 60_000, 100);
    expect(await store.get('sub-new')).toBeUndefined();
    await writer.put(record('sub-new'));
    const readsBefore = inner.reads;
    // A flood of lookups of the unknown id reads the backend no more …
    expect(await store.get('sub-new')).toBeUndefined();
    expect(inner.reads).toBe(readsBefore);
    // … and once the short memory has passed, the new subscription is found.
    await new Promise((r) => setTimeout(r, 150));
    expect((await store.get('sub-new'))?.id).toBe('sub-new');
  });

  it('forgets the oldest entries past its size bound', async () => {
    const store = new CachedSubscriptions(inner, 60_000, 60_000, 3);
    for (const id of ['a', 'b', 'c', 'd']) await store.get(id);
    expect(store.peek('a')).toBeUndefined();
    expect(store.peek('d')).toBeNull();
  });

  it('never caches what a read returned after a write replaced it', async () => {
    const store = new CachedSubscriptions(inner);
    inner.hold();
    const stale = store.get('sub-1');
    await inner.holding(1); // the read has the old record and waits to answer
    await store.put(record('sub-1', 'secret-2'));
    inner.release();
    expect((await stale)?.clientState).toBe('secret-1');
    expect((await store.get('sub-1'))?.clientState).toBe('secret-2');
    await store.delete('sub-1');
    expect(await store.get('sub-1')).toBeUndefined();
  });
});
