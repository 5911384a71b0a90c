import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { fakeAzureCli, startAzuriteTable, startPostgres, type FakeAzureCli } from '@graph2kafka/testkit';
import {
  FileSubscriptionStore,
  loadConfig,
  PostgresSubscriptionStore,
  TableSubscriptionStore,
  type SubscriptionRecord,
  type SubscriptionStore,
} from '../src/index.ts';
import { azureCredential } from '../src/azure/azure-credential.ts';
import type { FenceClaim } from '../src/fence/fence-types.ts';

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

/** The same contract for every backend: what the receive path and the manager rely on. */
function contract(name: string, make: () => Promise<SubscriptionStore>) {
  describe(`${name} state store`, () => {
    let store: SubscriptionStore;
    // Starting a PostgreSQL or Azurite server takes seconds, more on a loaded machine.
    beforeAll(async () => {
      store = await make();
    }, 60_000);

    it('puts, gets, replaces, lists and deletes subscriptions', async () => {
      const a = record('0f0e0d0c-0000-4000-8000-00000000000a', 'user-a');
      const b = record('0f0e0d0c-0000-4000-8000-00000000000b', 'user-b');
      await store.put(a);
      await store.put(b);
      expect(await store.get(a.id)).toEqual(a);
      await store.put({
        ...a,
        expirationDateTime: '2026-12-05T00:00:00.000Z',
        lastRenewedAt: '2026-11-26T00:00:00.000Z',
      });
      expect(await store.get(a.id)).toMatchObject({
        expirationDateTime: '2026-12-05T00:00:00.000Z',
        lastRenewedAt: '2026-11-26T00:00:00.000Z',
      });
      expect((await store.list()).map((r) => r.id).sort()).toEqual([a.id, b.id]);
      await store.delete(a.id);
      await store.delete(a.id);
      expect(await store.get(a.id)).toBeUndefined();
      expect((await store.list()).map((r) => r.id)).toEqual([b.id]);
    });

    it('keeps mailbox sync state apart from subscriptions', async () => {
      await store.putSync({
        tenantId: '6E1F6B9C-6F3E-4D5A-9A47-3C2B1F0D8E71',
        userId: 'User-C',
        deltaLink: 'https://graph/delta?$deltatoken=x',
        resyncPending: true,
        updatedAt: 'now',
      });
      expect(await store.getSync({ tenantId: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71', userId: 'user-c' })).toMatchObject(
        {
          deltaLink: 'https://graph/delta?$deltatoken=x',
          resyncPending: true,
        },
      );
      expect((await store.listSync()).map((s) => s.userId)).toEqual(['User-C']);
      expect((await store.list()).every((r) => r.id !== 'user-c')).toBe(true);
    });

    it('keys sync state by kind, folder and scope; a state written before kinds existed is the events one', async () => {
      const tenantId = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
      const put = (ref: Record<string, string>, deltaLink: string) =>
        store.putSync({ tenantId, userId: 'user-k', ...ref, deltaLink, resyncPending: false, updatedAt: 'now' });
      // As an older version wrote it: no kind at all.
      await put({}, 'events-link');
      await put({ kind: 'messages', folderId: 'inbox' }, 'inbox-link');
      await put({ kind: 'messages', folderId: 'archive' }, 'archive-link');
      await put({ kind: 'messages', scope: 'AAMkFolder+/=' }, 'scope-link');
      await put({ kind: 'contacts' }, 'contacts-link');
      const link = async (ref: Record<string, string>) =>
        (await store.getSync({ tenantId, userId: 'user-k', ...ref }))?.deltaLink;
      expect(await link({ kind: 'events' })).toBe('events-link');
      expect(await link({})).toBe('events-link');
      expect(await link({ kind: 'messages', folderId: 'inbox' })).toBe('inbox-link');
      expect(await link({ kind: 'messages', folderId: 'archive' })).toBe('archive-link');
      expect(await link({ kind: 'messages', scope: 'AAMkFolder+/=' })).toBe('scope-link');
      expect(await link({ kind: 'messages' })).toBeUndefined();
      expect(await link({ kind: 'contacts' })).toBe('contacts-link');
    });

    it('keeps repair entries of different kinds apart, and finds entries written before kinds existed', async () => {
      const base = {
        tenantId: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
        userId: 'user-m',
        subscriptionId: 's-1',
        changeType: 'created' as const,
        resource: 'Users/user-m/Messages/AAMkSame=',
        reason: 'throttled',
        firstSeenAt: '2026-11-25T00:00:00.000Z',
        attempts: 0,
      };
      await store.putRepair({ ...base, eventId: 'AAMkSame=' });
      await store.putRepair({ ...base, kind: 'messages', itemId: 'AAMkSame=' });
      await store.putRepair({ ...base, kind: 'contacts', itemId: 'AAMkSame=' });
      const mine = (await store.listRepairs(100)).filter((e) => e.userId === 'user-m');
      expect(mine.map((e) => e.kind ?? 'events').sort()).toEqual(['contacts', 'events', 'messages']);
      // The new form of an events entry is the same entry as the old one.
      await store.deleteRepair({ ...base, kind: 'events', itemId: 'AAMkSame=' });
      const left = (await store.listRepairs(100)).filter((e) => e.userId === 'user-m');
      expect(left.map((e) => e.kind).sort()).toEqual(['contacts', 'messages']);
      for (const e of left) await store.deleteRepair(e);
    });

    it('keeps one repair entry per event, lists up to a limit and deletes them', async () => {
      const entry = (eventId: string) => ({
        tenantId: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
        userId: 'user-r',
        eventId,
        subscriptionId: 's-1',
        changeType: 'created' as const,
        resource: `Users/user-r/Events/${eventId}`,
        reason: 'throttled',
        firstSeenAt: '2026-11-25T00:00:00.000Z',
        attempts: 0,
      });
      // Graph's ids hold characters no backend key may: the entry's id is derived, not the event id itself.
      const ids = ['AAMk+/x=', 'AAMk_y-', 'AAMkz='];
      for (const id of ids) await store.putRepair(entry(id));
      await store.putRepair({ ...entry(ids[0]!), attempts: 2 });
      const all = await store.listRepairs(100);
      expect(all.map((e) => e.eventId).sort()).toEqual([...ids].sort());
      expect(all.find((e) => e.eventId === ids[0])!.attempts).toBe(2);
      expect(await store.listRepairs(2)).toHaveLength(2);
      await store.deleteRepair(entry(ids[1]!));
      await store.deleteRepair(entry(ids[1]!));
      expect((await store.listRepairs(100)).map((e) => e.eventId).sort()).toEqual([ids[0], ids[2]].sort());
      expect((await store.list()).some((r) => r.id.startsWith('repair-'))).toBe(false);
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
      await store.putSeries(state);
      await store.putSeriesDue({ ...ref, subscriptionId: 's-1', changedAt: '2026-12-01T00:00:00.000Z', attempts: 0 });
      expect(await store.getSeries(ref)).toEqual(state);
      expect((await store.listSeries({}, 10)).map((x) => x.occurrences.length)).toEqual([800]);
      // Listed by mailbox (a prefix of the id) and by when the window moves, in the backend.
      const other = { ...ref, userId: 'user-t', masterId: 'AAMk-other=' };
      await store.putSeries({ ...other, subscriptionId: 's-2', occurrences: [], updatedAt: state.updatedAt });
      expect(
        (await store.listSeries({ owner: { tenantId: ref.tenantId, userId: 'USER-S' } }, 10)).map((x) => x.masterId),
      ).toEqual([ref.masterId]);
      expect(
        (await store.listSeries({ owner: { tenantId: ref.tenantId, userId: 'user-t' } }, 10)).map((x) => x.masterId),
      ).toEqual([other.masterId]);
      expect((await store.listSeries({ advanceBy: '2027-01-01T23:59:59.000Z' }, 10)).map((x) => x.masterId)).toEqual(
        [],
      );
      expect((await store.listSeries({ advanceBy: '2027-01-02T00:00:00.000Z' }, 10)).map((x) => x.masterId)).toEqual([
        ref.masterId,
      ]);
      await store.deleteSeries(other);
      expect((await store.getSeriesDue(ref))?.changedAt).toBe('2026-12-01T00:00:00.000Z');
      expect(await store.getSeries({ ...ref, masterId: 'other' })).toBeUndefined();
      await store.deleteSeriesDue(ref);
      await store.deleteSeriesDue(ref);
      expect(await store.listSeriesDue(10)).toEqual([]);
      expect(await store.getSeries(ref)).toEqual(state);
      await store.deleteSeries(ref);
      expect(await store.listSeries({}, 10)).toEqual([]);
    });

    it('claims a validation token once across instances, and forgets expired claims', async () => {
      const hash = 'q2Xo3nLDuPpEoz9p8n0Vb3HNjv1sHyu0fGSb8fYt4Zk';
      expect(await store.claimToken(hash, '2026-12-02T10:00:00.000Z')).toBe(true);
      // The same token again, as a second instance would try it: refused, even at once.
      const again = await Promise.all([
        store.claimToken(hash, '2026-12-02T10:00:00.000Z'),
        store.claimToken(hash, '2026-12-02T10:00:00.000Z'),
      ]);
      expect(again).toEqual([false, false]);
      expect(await store.claimToken('other-hash_1', '2026-12-02T12:00:00.000Z')).toBe(true);
      expect(await store.claimToken('../x', '2026-12-02T12:00:00.000Z')).toBe(false);
      expect(await store.pruneTokens('2026-12-02T11:00:00.000Z')).toBe(1);
      expect(await store.claimToken(hash, '2026-12-02T13:00:00.000Z')).toBe(true);
      expect(await store.claimToken('other-hash_1', '2026-12-02T13:00:00.000Z')).toBe(false);
    });

    it('treats ids that could be paths or keys of something else as unknown', async () => {
      for (const id of ['../../etc/passwd', 'a/b', 'x#y', "'; drop table --", ''])
        expect(await store.get(id)).toBeUndefined();
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
      await store.putRepair({ ...entry, nonce: 'first' });
      // Another instance queued a re-read of the same item meanwhile: the first run's delete leaves it.
      await store.putRepair({ ...entry, reason: 'overtaken', nonce: 'second' });
      await store.deleteRepair({ ...entry, nonce: 'first' });
      const mine = (await store.listRepairs(1_000)).filter((e) => e.userId === entry.userId);
      expect(mine.map((e) => e.reason)).toEqual(['overtaken']);
      await store.deleteRepair({ ...entry, nonce: 'second' });
      expect((await store.listRepairs(1_000)).filter((e) => e.userId === entry.userId)).toEqual([]);
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

contract('file', () => Promise.resolve(new FileSubscriptionStore(mkdtempSync(join(tmpdir(), 'g2k-store-')))));

let azurite: Awaited<ReturnType<typeof startAzuriteTable>> | undefined;
let postgres: Awaited<ReturnType<typeof startPostgres>> | undefined;
let pgStore: PostgresSubscriptionStore | undefined;
afterAll(async () => {
  await azurite?.stop();
  await pgStore?.close();
  await postgres?.stop();
});
contract('PostgreSQL (Cloud SQL on GCP)', async () => {
  postgres = await startPostgres();
  pgStore = new PostgresSubscriptionStore(postgres.url);
  return pgStore;
});
contract('Azure Table Storage (Azurite)', async () => {
  azurite = await startAzuriteTable();
  return TableSubscriptionStore.fromConnectionString(azurite.connectionString, `g2k${Date.now()}`);
});

describe('PostgreSQL store when the server ends its connections (Cloud SQL maintenance, failover: 57P01)', () => {
  it('drops the ended idle connections and answers the next query on a new one, the process unharmed', async () => {
    const store = new PostgresSubscriptionStore(postgres!.url);
    try {
      await Promise.all([store.list(), store.list(), store.list()]);
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
      await expect(store.list()).resolves.toEqual(expect.any(Array));
    } finally {
      await store.close();
    }
  });
});

// An operator's machine: the deployed URL names Cloud Run's /cloudsql socket; a local Cloud SQL Auth Proxy
// (`cloud-sql-proxy --unix-socket DIR INSTANCE`) serves DIR/INSTANCE/.s.PGSQL.5432, played here by a link to a
// real server's socket.
let proxied: Awaited<ReturnType<typeof startPostgres>> | undefined;
let proxiedStore: PostgresSubscriptionStore | undefined;
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
    proxiedStore = new PostgresSubscriptionStore(stateStore.connectionString);
    return proxiedStore;
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
  const store = TableSubscriptionStore.fromUrl(
    tokenAzurite.tableUrl,
    `g2k${Date.now()}`,
    azureCredential({ mode: 'developer' }),
    { tlsOptions: { ca: tokenAzurite.caPem } },
  );
  await store.list();
  expect(az.calls()[0]).toBe('account get-access-token --output json --resource https://storage.azure.com');
  return store;
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
