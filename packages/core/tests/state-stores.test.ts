import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { TableClient } from '@azure/data-tables';
import { fakeAzureCli, startAzuriteTable, startPostgres, type FakeAzureCli } from '@graph2kafka/testkit';
import {
  Collection,
  FileDocumentStore,
  loadConfig,
  PostgresDocumentStore,
  TableDocumentStore,
  type DocumentStore,
  type SubscriptionRecord,
} from '../src/index.ts';
import { azureCredential } from '../src/azure/azure-credential.ts';
import { CachedSubscriptions } from '../src/subscriptions/subscription-cache.ts';
import { healthCollection } from '../src/health/health-collection.ts';
import { repairCollection, repairId } from '../src/repair/repair-collection.ts';
import {
  seriesCollection,
  seriesDueCollection,
  seriesId,
  seriesOwnerPrefix,
} from '../src/series/series-collections.ts';
import { subscriptionCollection } from '../src/subscriptions/subscription-collection.ts';
import { syncCollection } from '../src/subscriptions/sync-collection.ts';
import { TokenClaims } from '../src/rich/token-claims.ts';
import type { CollectionLayout } from '../src/state/document-types.ts';
import type { FenceClaim } from '../src/fence/fence-types.ts';
import type { RepairEntry } from '../src/repair/repair-types.ts';

const record = (id: string, userId: string): SubscriptionRecord => ({
  id,
  tenantId: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
  userId,
  resource: `/users/${userId}/events`,
  changeType: 'created,updated,deleted',
  clientState: `secret-${id}`,
  notificationUrl: 'https://fn.example/notifications',
  lifecycleNotificationUrl: 'https://fn.example/lifecycle',
  expirationDateTime: '2026-12-01T00:00:00.000Z',
  createdAt: '2026-11-25T00:00:00.000Z',
  updatedAt: '2026-11-25T00:00:00.000Z',
});

/** A read's claim of `key` with `token` (a live item, no version), `over` changing any of it. */
const claimOf =
  (key: string) =>
  (token: number, over: Partial<FenceClaim> = {}): FenceClaim => ({
    key,
    token,
    gone: false,
    version: undefined,
    carried: false,
    ...over,
  });

/**
 * Writes a document the way the version before document stores did, bypassing the store: a file in its
 * folder, a row of its kind, an entity in its partition (`entity`: the entity exactly, where it was not the
 * document as JSON).
 */
type RawWriter = (
  layout: Required<Pick<CollectionLayout, 'name' | 'folder'>>,
  id: string,
  doc: object,
  entity?: { partitionKey: string; rowKey: string } & Record<string, unknown>,
) => Promise<void>;

interface Backend {
  store: DocumentStore;
  raw: RawWriter;
}

const fileBackend = (): Promise<Backend> => {
  const dir = mkdtempSync(join(tmpdir(), 'g2k-store-'));
  return Promise.resolve({
    store: new FileDocumentStore(dir),
    raw: (layout, id, doc) => {
      mkdirSync(join(dir, layout.folder), { recursive: true });
      writeFileSync(join(dir, layout.folder, `${id}.json`), JSON.stringify(doc));
      return Promise.resolve();
    },
  });
};

function postgresBackend(url: string): Backend & { store: PostgresDocumentStore } {
  const store = new PostgresDocumentStore(url);
  return {
    store,
    raw: async (layout, id, doc) => {
      await store.get(layout, 'x'); // the table, created on first use
      const client = new pg.Client(url);
      await client.connect();
      try {
        await client.query('INSERT INTO graph2kafka_state (kind, id, doc) VALUES ($1, $2, $3)', [
          layout.name,
          id,
          JSON.stringify(doc),
        ]);
      } finally {
        await client.end();
      }
    },
  };
}

function tableBackend(client: TableClient): Backend {
  const store = new TableDocumentStore(client);
  return {
    store,
    raw: async (layout, id, doc, entity) => {
      await store.get(layout, 'x'); // the table, created on first use
      await client.createEntity(entity ?? { partitionKey: layout.name, rowKey: id, doc: JSON.stringify(doc) });
    },
  };
}

/** A collection of the contract's own, beside the features' ones. */
const probe = { name: 'probe', folder: 'probe', index: 'at' };

/** The same contract for every backend: what the features' collections rely on. */
function contract(name: string, make: () => Promise<Backend>) {
  describe(`${name} state store`, () => {
    let store: DocumentStore;
    let raw: RawWriter;
    let subscriptions: Collection<SubscriptionRecord>;
    // Starting a PostgreSQL or Azurite server takes seconds, more on a loaded machine.
    beforeAll(async () => {
      ({ store, raw } = await make());
      subscriptions = new Collection(store, subscriptionCollection);
    }, 60_000);
    const sync = () => new Collection(store, syncCollection);
    const repairs = () => new Collection(store, repairCollection);
    const series = () => new Collection(store, seriesCollection);
    const dues = () => new Collection(store, seriesDueCollection);

    it('puts, gets, replaces, lists and deletes documents', async () => {
      const a = record('0f0e0d0c-0000-4000-8000-00000000000a', 'user-a');
      const b = record('0f0e0d0c-0000-4000-8000-00000000000b', 'user-b');
      await subscriptions.put(a);
      await subscriptions.put(b);
      expect(await subscriptions.get(a.id)).toEqual(a);
      await subscriptions.put({
        ...a,
        expirationDateTime: '2026-12-05T00:00:00.000Z',
        lastRenewedAt: '2026-11-26T00:00:00.000Z',
      });
      expect(await subscriptions.get(a.id)).toMatchObject({
        expirationDateTime: '2026-12-05T00:00:00.000Z',
        lastRenewedAt: '2026-11-26T00:00:00.000Z',
      });
      expect((await subscriptions.list()).map((r) => r.id).sort()).toEqual([a.id, b.id]);
      await subscriptions.delete(a.id);
      await subscriptions.delete(a.id);
      expect(await subscriptions.get(a.id)).toBeUndefined();
      expect((await subscriptions.list()).map((r) => r.id)).toEqual([b.id]);
    });

    it('creates a document only if absent: of racing creators exactly one wins, and the winner’s document stays', async () => {
      const racers = Array.from({ length: 6 }, (_, i) => ({ n: i, at: `2027-01-0${i + 1}` }));
      const won = await Promise.all(racers.map((doc) => store.createIfAbsent(probe, 'race-1', doc)));
      expect(won.filter(Boolean)).toHaveLength(1);
      const winner = racers[won.indexOf(true)]!;
      expect(await store.get(probe, 'race-1')).toEqual(winner);
      expect(await store.createIfAbsent(probe, 'race-1', { n: 99 })).toBe(false);
      expect(await store.get(probe, 'race-1')).toEqual(winner);
      await store.delete(probe, 'race-1');
      expect(await store.createIfAbsent(probe, 'race-1', { n: 7 })).toBe(true);
      expect(await store.get(probe, 'race-1')).toEqual({ n: 7 });
      await store.delete(probe, 'race-1');
    });

    it('deletes on a condition only while the stored document still holds the value', async () => {
      await store.put(probe, 'cond-1', { nonce: 'first', n: 1 });
      await store.put(probe, 'cond-1', { nonce: 'second', n: 2 });
      await store.delete(probe, 'cond-1', { field: 'nonce', value: 'first' });
      expect(await store.get(probe, 'cond-1')).toEqual({ nonce: 'second', n: 2 });
      await store.delete(probe, 'cond-1', { field: 'nonce', value: 'second' });
      expect(await store.get(probe, 'cond-1')).toBeUndefined();
      // Nothing there: nothing to do, with or without a condition.
      await store.delete(probe, 'cond-1', { field: 'nonce', value: 'second' });
      await store.delete(probe, 'cond-1');
    });

    it('lists by id prefix (an id character, not a pattern), by index bound and up to a limit', async () => {
      const docs: Array<[string, Record<string, unknown>]> = [
        ['pa-1', { at: '2027-01-01T00:00:00.000Z' }],
        ['pa-2', { at: '2027-01-03T00:00:00.000Z' }],
        ['pb-1', { at: '2027-01-02T00:00:00.000Z' }],
        ['p_1', {}],
        ['q-1', { at: '2026-01-01T00:00:00.000Z' }],
      ];
      for (const [id, doc] of docs) await store.put(probe, id, { id, ...doc });
      const ids = async (query: Parameters<DocumentStore['list']>[1]) =>
        (await store.list(probe, query)).map((d) => d.id).sort();
      expect(await ids({})).toEqual(['p_1', 'pa-1', 'pa-2', 'pb-1', 'q-1']);
      expect(await ids({ prefix: 'pa-' })).toEqual(['pa-1', 'pa-2']);
      expect(await ids({ prefix: 'p_' })).toEqual(['p_1']);
      expect(await ids({ prefix: 'p' })).toEqual(['p_1', 'pa-1', 'pa-2', 'pb-1']);
      expect(await ids({ prefix: 'z' })).toEqual([]);
      // Documents without the indexed field never answer a bound.
      expect(await ids({ indexAtMost: '2027-01-02T00:00:00.000Z' })).toEqual(['pa-1', 'pb-1', 'q-1']);
      expect(await ids({ prefix: 'p', indexAtMost: '2027-01-02T00:00:00.000Z' })).toEqual(['pa-1', 'pb-1']);
      expect(await ids({ indexAtMost: '2025-01-01T00:00:00.000Z' })).toEqual([]);
      // Listed entries carry the id they are stored under, also when the document does not hold it.
      expect((await store.list(probe, { prefix: 'q-' }))[0]).toEqual({
        id: 'q-1',
        doc: { id: 'q-1', at: '2026-01-01T00:00:00.000Z' },
      });
      expect(await store.list(probe, { limit: 2 })).toHaveLength(2);
      expect(await store.list(probe, { prefix: 'p', limit: 3 })).toHaveLength(3);
      const bounded = await store.list(probe, { indexAtMost: '2027-01-02T00:00:00.000Z', limit: 2 });
      expect(bounded).toHaveLength(2);
      for (const { doc } of bounded) expect(doc.at! <= '2027-01-02T00:00:00.000Z').toBe(true);
      for (const [id] of docs) await store.delete(probe, id);
      expect(await store.list(probe)).toEqual([]);
    });

    it('refuses unsafe ids: unknown on read, an error on write, nothing on delete, no pattern as prefix', async () => {
      for (const id of ['../../etc/passwd', 'a/b', 'x#y', "'; drop table --", '', 'a'.repeat(300)]) {
        expect(await store.get(probe, id)).toBeUndefined();
        await expect(store.put(probe, id, { n: 1 })).rejects.toThrow(/refusing/);
        await expect(store.createIfAbsent(probe, id, { n: 1 })).rejects.toThrow(/refusing/);
        await store.delete(probe, id);
      }
      await expect(store.list(probe, { prefix: '../' })).rejects.toThrow(/refusing/);
      await expect(store.list(probe, { prefix: "x' or 1=1 --" })).rejects.toThrow(/refusing/);
      expect(await store.list(probe)).toEqual([]);
    });

    it('keeps mailbox sync state apart from subscriptions', async () => {
      await sync().put({
        tenantId: '6E1F6B9C-6F3E-4D5A-9A47-3C2B1F0D8E71',
        userId: 'User-C',
        deltaLink: 'https://graph/delta?$deltatoken=x',
        resyncPending: true,
        updatedAt: 'now',
      });
      expect(await sync().get({ tenantId: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71', userId: 'user-c' })).toMatchObject({
        deltaLink: 'https://graph/delta?$deltatoken=x',
        resyncPending: true,
      });
      expect((await sync().list()).map((s) => s.userId)).toEqual(['User-C']);
      expect((await subscriptions.list()).every((r) => r.id !== 'user-c')).toBe(true);
    });

    it('keys sync state by kind, folder and scope; a state written before kinds existed is the events one', async () => {
      const tenantId = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
      const put = (ref: Record<string, string>, deltaLink: string) =>
        sync().put({ tenantId, userId: 'user-k', ...ref, deltaLink, resyncPending: false, updatedAt: 'now' });
      // As an older version wrote it: no kind at all.
      await put({}, 'events-link');
      await put({ kind: 'messages', folderId: 'inbox' }, 'inbox-link');
      await put({ kind: 'messages', folderId: 'archive' }, 'archive-link');
      await put({ kind: 'messages', scope: 'AAMkFolder+/=' }, 'scope-link');
      await put({ kind: 'contacts' }, 'contacts-link');
      const link = async (ref: Record<string, string>) =>
        (await sync().get({ tenantId, userId: 'user-k', ...ref }))?.deltaLink;
      expect(await link({ kind: 'events' })).toBe('events-link');
      expect(await link({})).toBe('events-link');
      expect(await link({ kind: 'messages', folderId: 'inbox' })).toBe('inbox-link');
      expect(await link({ kind: 'messages', folderId: 'archive' })).toBe('archive-link');
      expect(await link({ kind: 'messages', scope: 'AAMkFolder+/=' })).toBe('scope-link');
      expect(await link({ kind: 'messages' })).toBeUndefined();
      expect(await link({ kind: 'contacts' })).toBe('contacts-link');
      // Read back, the kindless one names its kind.
      expect((await sync().get({ tenantId, userId: 'user-k' }))?.kind).toBe('events');
    });

    it('keeps repair entries of different kinds apart', async () => {
      const base = {
        tenantId: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
        userId: 'user-m',
        itemId: 'AAMkSame=',
        subscriptionId: 's-1',
        changeType: 'created' as const,
        resource: 'Users/user-m/Messages/AAMkSame=',
        reason: 'throttled',
        firstSeenAt: '2026-11-25T00:00:00.000Z',
        attempts: 0,
      };
      for (const kind of ['events', 'messages', 'contacts'] as const) await repairs().put({ ...base, kind });
      const mine = (await repairs().list({ limit: 100 })).filter((e) => e.userId === 'user-m');
      expect(mine.map((e) => e.kind).sort()).toEqual(['contacts', 'events', 'messages']);
      await repairs().delete({ ...base, kind: 'events' });
      const left = (await repairs().list({ limit: 100 })).filter((e) => e.userId === 'user-m');
      expect(left.map((e) => e.kind).sort()).toEqual(['contacts', 'messages']);
      for (const e of left) await repairs().delete(e);
    });

    it('keeps one repair entry per item, lists up to a limit and deletes them', async () => {
      const entry = (itemId: string): RepairEntry => ({
        tenantId: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
        kind: 'events',
        userId: 'user-r',
        itemId,
        subscriptionId: 's-1',
        changeType: 'created' as const,
        resource: `Users/user-r/Events/${itemId}`,
        reason: 'throttled',
        firstSeenAt: '2026-11-25T00:00:00.000Z',
        attempts: 0,
      });
      // Graph's ids hold characters no backend key may: the entry's id is derived, not the item id itself.
      const ids = ['AAMk+/x=', 'AAMk_y-', 'AAMkz='];
      for (const id of ids) await repairs().put(entry(id));
      await repairs().put({ ...entry(ids[0]!), attempts: 2 });
      const all = await repairs().list({ limit: 100 });
      expect(all.map((e) => e.itemId).sort()).toEqual([...ids].sort());
      expect(all.find((e) => e.itemId === ids[0])!.attempts).toBe(2);
      expect(await repairs().list({ limit: 2 })).toHaveLength(2);
      await repairs().delete(entry(ids[1]!));
      await repairs().delete(entry(ids[1]!));
      expect((await repairs().list({ limit: 100 })).map((e) => e.itemId).sort()).toEqual([ids[0], ids[2]].sort());
      expect((await subscriptions.list()).some((r) => r.id.startsWith('repair-'))).toBe(false);
      for (const e of await repairs().list()) await repairs().delete(e);
    });

    it('keeps series state and due markers apart, per master, with a large occurrence list intact', async () => {
      const ref = { tenantId: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71', userId: 'user-s', masterId: 'AAMk+/series=' };
      // 800 occurrences with Graph-length ids: far over one Table Storage property (64 KiB).
      const occurrences = Array.from({ length: 800 }, (_, i) => ({
        id: `AAMkAGI2TGuLAAA${'x'.repeat(140)}${i}`,
        originalStart: new Date(Date.UTC(2027, 0, 1 + i)).toISOString(),
      }));
      const state = {
        ...ref,
        subscriptionId: 's-1',
        expand: { pastDays: 0, futureDays: 365 },
        from: '2027-01-01T00:00:00.000Z',
        to: '2028-01-01T00:00:00.000Z',
        advanceAt: '2027-01-02T00:00:00.000Z',
        occurrences,
        updatedAt: '2026-12-01T00:00:00.000Z',
      };
      await series().put(state);
      await dues().put({ ...ref, subscriptionId: 's-1', changedAt: '2026-12-01T00:00:00.000Z', attempts: 0 });
      expect(await series().get(ref)).toEqual(state);
      expect((await series().list({ limit: 10 })).map((x) => x.occurrences.length)).toEqual([800]);
      // Listed by mailbox (a prefix of the id) and by when the window moves, in the backend.
      const other = { ...ref, userId: 'user-t', masterId: 'AAMk-other=' };
      await series().put({ ...other, subscriptionId: 's-2', occurrences: [], updatedAt: state.updatedAt });
      const owner = (userId: string) => ({ prefix: seriesOwnerPrefix(ref.tenantId, userId), limit: 10 });
      expect((await series().list(owner('USER-S'))).map((x) => x.masterId)).toEqual([ref.masterId]);
      expect((await series().list(owner('user-t'))).map((x) => x.masterId)).toEqual([other.masterId]);
      const due = (by: string) => series().list({ indexAtMost: by, limit: 10 });
      expect((await due('2027-01-01T23:59:59.000Z')).map((x) => x.masterId)).toEqual([]);
      expect((await due('2027-01-02T00:00:00.000Z')).map((x) => x.masterId)).toEqual([ref.masterId]);
      await series().delete(other);
      expect((await dues().get(ref))?.changedAt).toBe('2026-12-01T00:00:00.000Z');
      expect(await series().get({ ...ref, masterId: 'other' })).toBeUndefined();
      await dues().delete(ref);
      await dues().delete(ref);
      expect(await dues().list({ limit: 10 })).toEqual([]);
      expect(await series().get(ref)).toEqual(state);
      await series().delete(ref);
      expect(await series().list({ limit: 10 })).toEqual([]);
    });

    it('claims a validation token once across instances, and forgets expired claims', async () => {
      const tokens = new TokenClaims(store);
      const hash = 'q2Xo3nLDuPpEoz9p8n0Vb3HNjv1sHyu0fGSb8fYt4Zk';
      expect(await tokens.claim(hash, '2026-12-02T10:00:00.000Z')).toBe(true);
      // The same token again, as a second instance would try it: refused, even at once.
      const again = await Promise.all([
        tokens.claim(hash, '2026-12-02T10:00:00.000Z'),
        tokens.claim(hash, '2026-12-02T10:00:00.000Z'),
      ]);
      expect(again).toEqual([false, false]);
      expect(await tokens.claim('other-hash_1', '2026-12-02T12:00:00.000Z')).toBe(true);
      await expect(tokens.claim('../x', '2026-12-02T12:00:00.000Z')).rejects.toThrow(/refusing/);
      expect(await tokens.prune('2026-12-02T11:00:00.000Z')).toBe(1);
      expect(await tokens.claim(hash, '2026-12-02T13:00:00.000Z')).toBe(true);
      expect(await tokens.claim('other-hash_1', '2026-12-02T13:00:00.000Z')).toBe(false);
    });

    it('reads documents as the previous version wrote them, where it wrote them', async () => {
      const tenantId = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
      // A subscription, found through the cache.
      const sub = record('0f0e0d0c-0000-4000-8000-0000000000ee', 'user-old');
      await raw({ name: 'subscription', folder: 'subscriptions' }, sub.id, sub);
      expect(await new CachedSubscriptions(store).get(sub.id)).toEqual(sub);
      // A mailbox's sync state of before kinds: under the mailbox key, no kind.
      await raw({ name: 'mailbox', folder: 'mailboxes' }, `${tenantId}_user-old`, {
        tenantId,
        userId: 'user-old',
        deltaLink: 'old-link',
        resyncPending: false,
        updatedAt: 'then',
      });
      expect(await sync().get({ tenantId, userId: 'User-Old', kind: 'events' })).toMatchObject({
        kind: 'events',
        deltaLink: 'old-link',
      });
      // A repair entry of before kinds: no kind, the item named `eventId`; still found, deleted and replaced.
      const old = {
        tenantId,
        userId: 'user-old',
        eventId: 'AAMkOld=',
        subscriptionId: 's-old',
        changeType: 'updated',
        resource: 'Users/user-old/Events/AAMkOld=',
        reason: 'throttled',
        firstSeenAt: '2026-11-01T00:00:00.000Z',
        attempts: 3,
      };
      const oldId = repairId({ tenantId, userId: 'user-old', kind: 'events', itemId: 'AAMkOld=' });
      await raw({ name: 'repair', folder: 'repairs' }, oldId, old);
      const [entry] = (await repairs().list({ limit: 100 })).filter((e) => e.userId === 'user-old');
      const { eventId: _gone, ...named } = old;
      expect(entry).toEqual({ ...named, kind: 'events', itemId: 'AAMkOld=' });
      expect(repairId(entry!)).toBe(oldId);
      await repairs().delete(entry!, entry!.nonce === undefined ? undefined : { field: 'nonce', value: entry!.nonce });
      expect(await repairs().get(oldId)).toBeUndefined();
      // A series state, listed by when its window moves (Table Storage: the property beside the document).
      const ref = { tenantId, userId: 'user-old', masterId: 'AAMkOldSeries=' };
      const state = {
        ...ref,
        subscriptionId: 's-old',
        advanceAt: '2026-01-01T00:00:00.000Z',
        occurrences: [],
        updatedAt: 'then',
      };
      await raw({ name: 'series', folder: 'series' }, seriesId(ref), state, {
        partitionKey: 'series',
        rowKey: seriesId(ref),
        advanceAt: state.advanceAt,
        doc: JSON.stringify(state),
      });
      expect(await series().list({ indexAtMost: '2026-06-01T00:00:00.000Z' })).toEqual([state]);
      await series().delete(ref);
      // A series-due marker, in its own folder.
      const due = { ...ref, subscriptionId: 's-old', changedAt: 'then', attempts: 1 };
      await raw({ name: 'seriesdue', folder: 'series-due' }, seriesId(ref), due);
      expect(await dues().get(ref)).toEqual(due);
      await dues().delete(ref);
      // A health record.
      const run = { type: 'timer_run', id: 'timer-1000', startedAt: 'then', seconds: 1, ok: true, errors: [] };
      await raw({ name: 'health', folder: 'health' }, run.id, run);
      expect(await new Collection(store, healthCollection).list()).toEqual([run]);
      // A validation-token claim: only its expiry (Table Storage: a property, no document at all).
      const hash = 'OldClaimHash_0123456789abcdefghijklmnopqrstu';
      await raw(
        { name: 'token', folder: 'tokens' },
        hash,
        { expiresAt: '2026-11-01T00:00:00.000Z' },
        {
          partitionKey: 'token',
          rowKey: hash,
          expiresAt: '2026-11-01T00:00:00.000Z',
        },
      );
      const tokens = new TokenClaims(store);
      expect(await tokens.claim(hash, '2026-11-01T00:00:00.000Z')).toBe(false);
      expect(await tokens.prune('2026-11-02T00:00:00.000Z')).toBe(1);
      expect(await tokens.claim(hash, '2026-11-03T00:00:00.000Z')).toBe(true);
    });

    it('treats ids that could be paths or keys of something else as unknown', async () => {
      for (const id of ['../../etc/passwd', 'a/b', 'x#y', "'; drop table --", ''])
        expect(await subscriptions.get(id)).toBeUndefined();
    });

    it('fences keys: tokens only grow, the newest observation wins, carried items never undo an absence', async () => {
      const fence = store.keyFence();
      const scope = 'tenant|events|user-a';
      const first = (await fence.begin([scope])).get(scope)!;
      const second = (await fence.begin([scope, 'tenant|messages|user-b'])).get(scope)!;
      expect(second).toBeGreaterThan(first);
      const key = `k-${Date.now()}/a`;
      const claim = claimOf(key);
      // The newer read claims first. While its record is on its way, the older one is read again (the newer may
      // never land); once the newer is in Kafka (settled by its post-ack check), the older is stale and dropped.
      expect(await fence.claim([claim(second, { version: 2_000 })])).toEqual(['won']);
      expect(await fence.claim([claim(first)])).toEqual(['reread']);
      expect(await fence.overtaken([{ key, token: second }])).toEqual([false]);
      expect(await fence.claim([claim(first)])).toEqual(['stale']);
      expect(
        await fence.overtaken([
          { key, token: first },
          { key: `${key}-never`, token: first },
        ]),
      ).toEqual([true, false]);
      // A carried (rich) item older than what is produced is stale; one after a confirmed absence is re-read.
      const third = (await fence.begin([scope])).get(scope)!;
      expect(await fence.claim([claim(third, { carried: true, version: 1_000 })])).toEqual(['stale']);
      const fourth = (await fence.begin([scope])).get(scope)!;
      expect(await fence.claim([claim(fourth, { gone: true })])).toEqual(['won']);
      await fence.overtaken([{ key, token: fourth, gone: true }]);
      const fifth = (await fence.begin([scope])).get(scope)!;
      expect(await fence.claim([claim(fifth, { carried: true, version: 9_000 })])).toEqual(['reread']);
      // A read after the absence finds the item again (delete-then-recreate): it wins.
      expect(await fence.claim([claim(fifth)])).toEqual(['won']);
      // One claim per key per call: the last one is tried, earlier ones are read again (it is not in Kafka yet).
      const sixth = (await fence.begin([scope])).get(scope)!;
      expect(await fence.claim([claim(sixth, { version: 1 }), claim(sixth, { version: 2 })])).toEqual([
        'reread',
        'won',
      ]);
      // Two instances claiming the same key with the same token at once: exactly one wins, the other reads again.
      const seventh = (await fence.begin([scope])).get(scope)!;
      const raced = await Promise.all([fence.claim([claim(seventh)]), fence.claim([claim(seventh)])]);
      expect(raced.flat().sort()).toEqual(['reread', 'won']);
      expect(await fence.prune(new Date(Date.now() + 60_000), new Date(0), Date.now() + 10_000)).toBeGreaterThanOrEqual(
        1,
      );
      expect(await fence.overtaken([{ key, token: first }])).toEqual([false]);
    });

    it('deletes a repair entry only if it was not put again since (its nonce)', async () => {
      const entry = {
        tenantId: 't',
        kind: 'events' as const,
        userId: `user-n-${Date.now()}`,
        itemId: 'AAMkItem=',
        subscriptionId: 's',
        changeType: 'updated' as const,
        resource: 'Users/u/Events/AAMkItem=',
        reason: 'throttled',
        firstSeenAt: '2026-12-03T00:00:00.000Z',
        attempts: 0,
      };
      await repairs().put({ ...entry, nonce: 'first' });
      // Another instance queued a re-read of the same item meanwhile: the first run's delete leaves it.
      await repairs().put({ ...entry, reason: 'overtaken', nonce: 'second' });
      await repairs().delete(entry, { field: 'nonce', value: 'first' });
      const mine = (await repairs().list({ limit: 1_000 })).filter((e) => e.userId === entry.userId);
      expect(mine.map((e) => e.reason)).toEqual(['overtaken']);
      await repairs().delete(entry, { field: 'nonce', value: 'second' });
      expect((await repairs().list({ limit: 1_000 })).filter((e) => e.userId === entry.userId)).toEqual([]);
    });

    it('orders a read against a carried item by Graph version, whatever the tokens; two absences need no re-read', async () => {
      const fence = store.keyFence();
      const scope = 'tenant|events|user-c';
      const next = async () => (await fence.begin([scope])).get(scope)!;
      const key = `c-${Date.now()}/a`;
      const claim = claimOf(key);
      // A read starts (older token); meanwhile a retried rich POST carries version 5 and claims at once.
      const read = await next();
      const carried = await next();
      expect(await fence.claim([claim(carried, { carried: true, version: 5 })])).toEqual(['won']);
      // The read finished later and found version 7: it is newer, whatever its token.
      expect(await fence.claim([claim(read, { version: 7 })])).toEqual(['won']);
      await fence.overtaken([{ key, token: read }]);
      // Another carried copy of version 5 now loses: the row holds a newer version.
      expect(await fence.claim([claim(await next(), { carried: true, version: 5 })])).toEqual(['stale']);
      // A read that found the item gone wins over a carried item with an older token too.
      const readGone = await next();
      expect(await fence.claim([claim(await next(), { carried: true, version: 9 })])).toEqual(['won']);
      expect(await fence.claim([claim(readGone, { gone: true })])).toEqual(['won']);
      // Its tombstone overtaken by a newer absence: nothing to read again; by a live value: read again.
      expect(await fence.overtaken([{ key, token: readGone - 1, gone: true }])).toEqual([false]);
      expect(await fence.overtaken([{ key, token: readGone - 1, gone: false }])).toEqual([true]);
      // Absences are forgotten after their own (shorter) time.
      expect(await fence.prune(new Date(0), new Date(Date.now() + 60_000), Date.now() + 10_000)).toBeGreaterThanOrEqual(
        1,
      );
      expect(await fence.overtaken([{ key, token: 0 }])).toEqual([false]);
    });
  });
}

contract('file', fileBackend);

let azurite: Awaited<ReturnType<typeof startAzuriteTable>> | undefined;
let postgres: Awaited<ReturnType<typeof startPostgres>> | undefined;
let pgStore: PostgresDocumentStore | undefined;
afterAll(async () => {
  await azurite?.stop();
  await pgStore?.close();
  await postgres?.stop();
});
contract('PostgreSQL (Cloud SQL on GCP)', async () => {
  postgres = await startPostgres();
  const backend = postgresBackend(postgres.url);
  pgStore = backend.store;
  return backend;
});
contract('Azure Table Storage (Azurite)', async () => {
  azurite = await startAzuriteTable();
  const client = TableClient.fromConnectionString(azurite.connectionString, `g2k${Date.now()}`, {
    allowInsecureConnection: true,
  });
  return tableBackend(client);
});

describe('PostgreSQL store when the server ends its connections (Cloud SQL maintenance, failover: 57P01)', () => {
  it('drops the ended idle connections and answers the next query on a new one, the process unharmed', async () => {
    const store = new PostgresDocumentStore(postgres!.url);
    try {
      const list = () => store.list(subscriptionCollection);
      await Promise.all([list(), list(), list()]);
      const admin = new pg.Client(postgres!.url);
      await admin.connect();
      const { rows } = await admin.query<{ ended: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() AND backend_type = $1',
        ['client backend'],
      );
      await admin.end();
      expect(rows.length).toBeGreaterThan(0);
      // The pool hears of it on its idle clients; let the notices arrive before asking again.
      await new Promise((r) => setTimeout(r, 200));
      await expect(list()).resolves.toEqual(expect.any(Array));
    } finally {
      await store.close();
    }
  });
});

// An operator's machine: the deployed URL names Cloud Run's /cloudsql socket; a local Cloud SQL Auth Proxy
// (`cloud-sql-proxy --unix-socket DIR INSTANCE`) serves DIR/INSTANCE/.s.PGSQL.5432, played here by a link to a
// real server's socket.
let proxied: Awaited<ReturnType<typeof startPostgres>> | undefined;
let proxiedStore: PostgresDocumentStore | undefined;
const proxyDir = mkdtempSync(join(tmpdir(), 'g2k-cloudsql-'));
afterAll(async () => {
  await proxiedStore?.close();
  await proxied?.stop();
  rmSync(proxyDir, { recursive: true, force: true });
});
contract(
  'PostgreSQL through a Cloud SQL Auth Proxy socket (the deployed /cloudsql URL, G2K_CLOUDSQL_SOCKET_DIR)',
  async () => {
    proxied = await startPostgres();
    const instance = 'contoso-prod:europe-west1:g2k-state';
    mkdirSync(join(proxyDir, instance));
    symlinkSync(join(proxied.socketDir, `.s.PGSQL.${proxied.port}`), join(proxyDir, instance, '.s.PGSQL.5432'));
    const { stateStore } = await loadConfig({
      AZURE_TENANT_ID: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
      AZURE_CLIENT_ID: 'b3a9d5c1-2e4f-4a6b-8c7d-9e0f1a2b3c4d',
      AZURE_CLIENT_SECRET: 's',
      KAFKA_BROKERS: '127.0.0.1:9092',
      G2K_STATE_STORE: 'postgres',
      G2K_POSTGRES_URL: `postgresql://g2k@/postgres?host=/cloudsql/${instance}`,
      G2K_CLOUDSQL_SOCKET_DIR: proxyDir,
    });
    if (stateStore.kind !== 'postgres') throw new Error(`expected the postgres store, got ${stateStore.kind}`);
    expect(stateStore.connectionString).not.toContain('/cloudsql/');
    const backend = postgresBackend(stateStore.connectionString);
    proxiedStore = backend.store;
    return backend;
  },
);

// An operator's machine on Azure: Table Storage by bearer token from the operator's `az login` (the Azure CLI
// faked on PATH, as AzureCliCredential runs it), Azurite over HTTPS checking each token's audience and lifetime.
let tokenAzurite: Awaited<ReturnType<typeof startAzuriteTable>> | undefined;
let az: FakeAzureCli | undefined;
const pathBefore = process.env.PATH;
afterAll(async () => {
  process.env.PATH = pathBefore;
  await tokenAzurite?.stop();
  az?.remove();
});
contract("Azure Table Storage by identity: the operator's Azure CLI sign-in (Azurite, --oauth basic)", async () => {
  tokenAzurite = await startAzuriteTable({ oauth: true });
  az = fakeAzureCli();
  process.env.PATH = `${az.dir}:${pathBefore}`;
  const client = new TableClient(tokenAzurite.tableUrl, `g2k${Date.now()}`, azureCredential({ mode: 'developer' }), {
    tlsOptions: { ca: tokenAzurite.caPem },
  });
  const backend = tableBackend(client);
  await backend.store.list(subscriptionCollection);
  expect(az.calls()[0]).toBe('account get-access-token --output json --resource https://storage.azure.com');
  return backend;
});

describe('state store settings', () => {
  const base = {
    AZURE_TENANT_ID: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
    AZURE_CLIENT_ID: 'b3a9d5c1-2e4f-4a6b-8c7d-9e0f1a2b3c4d',
    AZURE_CLIENT_SECRET: 's',
    KAFKA_BROKERS: '127.0.0.1:9092',
  };

  it('reads the PostgreSQL form, with the URL possibly a secret reference', async () => {
    expect(
      (
        await loadConfig({
          ...base,
          G2K_STATE_STORE: 'postgres',
          G2K_POSTGRES_URL: 'postgresql://u:p@/g2k?host=/cloudsql/p:r:i',
        })
      ).stateStore,
    ).toEqual({
      kind: 'postgres',
      connectionString: 'postgresql://u:p@/g2k?host=/cloudsql/p:r:i',
    });
    const err = (await loadConfig({ ...base, G2K_STATE_STORE: 'postgres' }).catch((e: unknown) => e)) as {
      problems: string[];
    };
    expect(err.problems).toEqual([expect.stringMatching(/G2K_POSTGRES_URL is not set/)]);
  });

  it('reads the Table Storage forms', async () => {
    expect(
      (await loadConfig({ ...base, G2K_STATE_STORE: 'azure-table:https://acct.table.core.windows.net' })).stateStore,
    ).toEqual({ kind: 'azure-table', endpoint: 'https://acct.table.core.windows.net', table: 'graph2kafka' });
    expect(
      (
        await loadConfig({
          ...base,
          G2K_STATE_STORE: 'azure-table-connection-string',
          G2K_TABLE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
          G2K_TABLE_NAME: 'g2kstate',
        })
      ).stateStore,
    ).toEqual({
      kind: 'azure-table-connection-string',
      connectionString: 'UseDevelopmentStorage=true',
      table: 'g2kstate',
    });
  });

  it('asks for the connection string, and refuses a bad table name', async () => {
    const err = (await loadConfig({
      ...base,
      G2K_STATE_STORE: 'azure-table-connection-string',
      G2K_TABLE_NAME: 'bad-name',
    }).catch((e: unknown) => e)) as { problems: string[] };
    expect(err.problems).toEqual([
      expect.stringMatching(/G2K_TABLE_NAME must be/),
      expect.stringMatching(/G2K_TABLE_CONNECTION_STRING is not set/),
    ]);
  });
});
