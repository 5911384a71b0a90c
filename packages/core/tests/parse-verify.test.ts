import { Collection, FileDocumentStore, type SubscriptionRecord } from '../src/index.ts';
import { answerHandshake } from '../src/receive/handshake.ts';
import { boundToSubscription, parseItemResource } from '../src/receive/resource.ts';
import { CachedSubscriptions } from '../src/subscriptions/subscription-cache.ts';
import { kindOfResource } from '../src/kinds/index.ts';
import { parseEnvelope } from '../src/receive/envelope.ts';
import { pendingId } from '../src/subscriptions/pending-marker.ts';
import { PostVerifier, sameSecret } from '../src/receive/verify.ts';
import { subscriptionCollection } from '../src/subscriptions/subscription-collection.ts';
import type { CollectionLayout } from '../src/state/document-types.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TENANT = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
const USER = '1d5c2b8a-7e3f-4c91-b6a0-2f8e9d4c7b15';
const OTHER_USER = '2e6d3c9b-8f4a-4da2-87b1-3a9f0e5d8c26';
const item = (over: Record<string, unknown> = {}) => ({
  id: 'n1',
  subscriptionId: 'f2a1c3d4-0000-4000-8000-000000000001',
  subscriptionExpirationDateTime: '2026-12-01T00:00:00Z',
  changeType: 'updated',
  resource: `Users/${USER}/Events/AAMkAbc=`,
  resourceData: { '@odata.type': '#Microsoft.Graph.Event', id: 'AAMkAbc=' },
  clientState: 'secret',
  tenantId: TENANT,
  ...over,
});
const body = (...items: unknown[]) => Buffer.from(JSON.stringify({ value: items }));

describe('handshake', () => {
  it('echoes the decoded token as text/plain', () => {
    const answer = answerHandshake(
      'POST',
      new URLSearchParams(
        'validationToken=Validation%3a+Testing+client+application+reachability+for+subscription+Request-Id%3a+42',
      ),
    );
    expect(answer).toEqual({
      status: 200,
      headers: expect.objectContaining({
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
      }),
      body: 'Validation: Testing client application reachability for subscription Request-Id: 42',
    });
  });

  it('is not a handshake without the parameter, and refuses oversized or empty tokens', () => {
    expect(answerHandshake('POST', new URLSearchParams(''))).toBeUndefined();
    expect(answerHandshake('POST', new URLSearchParams(`validationToken=${'a'.repeat(1025)}`))!.status).toBe(400);
    expect(answerHandshake('POST', new URLSearchParams('validationToken='))!.status).toBe(400);
    expect(answerHandshake('GET', new URLSearchParams('validationToken=x'))!.status).toBe(405);
  });
});

describe('envelope: one verdict per item', () => {
  it('sorts items by shape: changes, lifecycle events, unusable and malformed items side by side', () => {
    const parsed = parseEnvelope(
      body(
        item(),
        { subscriptionId: 's-1', tenantId: TENANT, clientState: 'c', lifecycleEvent: 'missed' },
        item({ changeType: 'unknownFutureValue' }),
        item({ resource: `Users/${USER}/Calendars/x`, resourceData: undefined }),
        item({ tenantId: 'contoso' }),
        'not an object',
      ),
    );
    expect(parsed.ok).toBe(true);
    const items = (parsed as { items: Array<{ kind: string; reason?: string; problem?: string }> }).items;
    expect(items.map((i) => i.kind)).toEqual(['change', 'lifecycle', 'unusable', 'unusable', 'malformed', 'malformed']);
    expect(items[2]!.reason).toBe('unsupported_change_type');
    expect(items[3]!.reason).toBe('unknown_resource');
    expect(items[4]!.problem).toMatch(/tenantId must be a GUID/);
  });

  it.each([
    ['not JSON', Buffer.from('nope'), /not valid JSON/],
    ['an array', Buffer.from('[]'), /JSON object/],
    ['an empty value', body(), /non-empty 'value'/],
    [
      'only malformed items',
      body(item({ subscriptionId: '../../etc/passwd' }), item({ tenantId: 'x' })),
      /subscriptionId/,
    ],
    ['an overlong clientState', body(item({ clientState: 'x'.repeat(256) })), /clientState/],
    ['an unknown lifecycle event', body(item({ changeType: undefined, lifecycleEvent: 'exploded' })), /lifecycleEvent/],
  ])('refuses the whole body only when it is not a notification collection: %s', (_name, raw, reason) => {
    const parsed = parseEnvelope(raw);
    expect(parsed.ok).toBe(false);
    expect((parsed as { reason: string }).reason).toMatch(reason);
  });

  it('refuses a body denser than any notification collection before parsing it', () => {
    const dense = Buffer.from(`{"value":[${Array<string>(10_000).fill('[]').join(',')}]}`);
    const parse = jest.spyOn(JSON, 'parse');
    try {
      expect(parseEnvelope(dense)).toEqual({
        ok: false,
        reason: expect.stringMatching(/holds 20002 JSON values in 30011 bytes; .* at most one per 8 bytes/) as string,
      });
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
    // Graph's own items, however many, are far from the limit; so is a lifecycle item with short ids.
    expect(parseEnvelope(body(...Array.from({ length: 500 }, () => item()))).ok).toBe(true);
    expect(
      parseEnvelope(body({ subscriptionId: 's-1', tenantId: TENANT, clientState: 'c', lifecycleEvent: 'missed' })).ok,
    ).toBe(true);
  });

  it('keeps a verdict per item for a few malformed ones, and refuses a POST of more than Graph would ever send', () => {
    const few = parseEnvelope(body(item(), ...Array.from({ length: 64 }, (_, i) => `junk junk junk ${i}`)));
    expect(few).toMatchObject({ ok: true });
    expect((few as { items: Array<{ kind: string }> }).items.filter((i) => i.kind === 'malformed')).toHaveLength(64);
    const many = parseEnvelope(body(item(), ...Array.from({ length: 65 }, (_, i) => `junk junk junk ${i}`)));
    expect(many).toEqual({
      ok: false,
      reason: 'more than 64 items are not notifications (the first: value[1] is not an object)',
    });
  });

  it('refuses an item whose resourceData.id names another event than its resource', () => {
    const parsed = parseEnvelope(body(item({ resourceData: { id: 'AAMkOther=' } })));
    expect(parsed).toMatchObject({ ok: true, items: [{ kind: 'unusable', reason: 'unknown_resource' }] });
  });

  it('keeps a notification id out of the headers when it holds control characters', () => {
    const parsed = parseEnvelope(body(item({ id: 'n1\r\ninjected: yes' })));
    expect(parsed).toMatchObject({ ok: true, items: [{ kind: 'change', n: { id: undefined } }] });
  });
});

describe('resources', () => {
  it.each([
    `Users/${USER}/Events/AAMkAbc=`,
    `users/${USER}/events/AAMkAbc=`,
    `/users/${USER}/events/AAMkAbc=`,
    `Users('${USER}')/Events('AAMkAbc=')`,
    `Users/${USER}/Events('AAMkAbc=')`,
    `users('${USER.toUpperCase()}')/events/AAMkAbc=`,
    `https://graph.microsoft.com/v1.0/users/${USER}/events/AAMkAbc=`,
    `https://outlook.office365.com/api/beta/Users('${USER}')/Events('AAMkAbc=')`,
  ])('reads %s as the same mailbox and event', (resource) => {
    expect(parseItemResource(resource)).toEqual({ collection: 'events', user: USER, itemId: 'AAMkAbc=' });
  });

  it('reads the id@tenant and UPN user forms', () => {
    expect(parseItemResource(`users/${USER}@${TENANT}/events/e1`)).toEqual({
      collection: 'events',
      user: `${USER}@${TENANT}`,
      itemId: 'e1',
    });
    expect(parseItemResource('Users/Adele.Vance@contoso.com/Events/e1')).toEqual({
      collection: 'events',
      user: 'adele.vance@contoso.com',
      itemId: 'e1',
    });
  });

  it('reads directory objects, which only a tenant-wide subscription of that kind accepts', () => {
    const id = '4F7B1E9C-5A2D-4E8F-A3C6-0D9B2E7F1A58';
    expect(parseItemResource(`Users/${id}`)).toEqual({
      collection: 'users',
      user: undefined,
      itemId: id.toLowerCase(),
    });
    expect(parseItemResource(`groups('${id}')`)).toEqual({
      collection: 'groups',
      user: undefined,
      itemId: id.toLowerCase(),
    });
    // Directory ids are GUIDs: anything else names nothing.
    expect(parseItemResource('Users/adele@contoso.com')).toBeUndefined();
    expect(parseItemResource(`Users/${id}/manager`)).toBeUndefined();
    const users = { userId: '', kind: 'users' as const, resource: '/users' };
    expect(boundToSubscription(parseItemResource(`Users/${id}`)!, users, TENANT)).toBe(true);
    expect(boundToSubscription(parseItemResource(`Groups/${id}`)!, users, TENANT)).toBe(false);
    // A mailbox item never binds to a directory subscription, nor a directory object to a mailbox one.
    expect(boundToSubscription(parseItemResource(`Users/${USER}/Events/e1`)!, users, TENANT)).toBe(false);
    const events = { userId: USER, resource: `/users/${USER}/events` };
    expect(boundToSubscription(parseItemResource(`Users/${USER}`)!, events, TENANT)).toBe(false);
  });

  it('reads messages and contacts, which a subscription of that kind alone accepts', () => {
    expect(parseItemResource(`Users/${USER}/Messages/m1`)).toEqual({
      collection: 'messages',
      user: USER,
      itemId: 'm1',
    });
    expect(parseItemResource(`users('${USER}')/contacts('c1')`)).toEqual({
      collection: 'contacts',
      user: USER,
      itemId: 'c1',
    });
    const messages = { userId: USER, kind: 'messages' as const, resource: `/users/${USER}/mailFolders/inbox/messages` };
    expect(boundToSubscription(parseItemResource(`Users/${USER}/Messages/m1`)!, messages, TENANT)).toBe(true);
    expect(boundToSubscription(parseItemResource(`Users/${USER}/Events/m1`)!, messages, TENANT)).toBe(false);
    expect(boundToSubscription(parseItemResource(`Users/${USER}/Contacts/m1`)!, messages, TENANT)).toBe(false);
    // A calendar's subscription: notifications name the mailbox's events, as Graph's do; the calendar is checked
    // on the read (FolderScope), since the resource does not name it.
    const calendar = { userId: USER, kind: 'events' as const, resource: `/users/${USER}/calendars/AAMkCal=/events` };
    expect(boundToSubscription(parseItemResource(`Users/${USER}/Events/e1`)!, calendar, TENANT)).toBe(true);
    expect(boundToSubscription(parseItemResource(`Users/${OTHER_USER}/Events/e1`)!, calendar, TENANT)).toBe(false);
    expect(boundToSubscription(parseItemResource(`Users/${USER}/Messages/e1`)!, calendar, TENANT)).toBe(false);
  });

  it('reads a calendar target from its resource and keeps its reads to the calendar', () => {
    const { kind, target } = kindOfResource(`/users/${USER}/calendars/AAMkCal=/events`)!;
    expect([kind.name, target]).toEqual(['events', { userId: USER, folderId: 'AAMkCal=' }]);
    expect(kind.readPath(target, 'e1', 'subject')).toBe(
      `/users/${USER}/events/e1?$select=subject&$expand=calendar($select=id)`,
    );
    // The default calendar too: /users/{id}/events hears it only, though a read by id finds any calendar.
    expect(kind.readPath({ userId: USER }, 'e1', undefined)).toBe(
      `/users/${USER}/events/e1?$expand=calendar($select=id)`,
    );
    expect(kind.subscriptionResource(target)).toBe(`/users/${USER}/calendars/AAMkCal=/events`);
    expect(kind.recordKey(TENANT, target, 'e1')).toBe(kind.recordKey(TENANT, { userId: USER }, 'e1'));
    // A calendar id that is not one path segment is no target.
    expect(kindOfResource(`/users/${USER}/calendars/a'b/events`)).toBeUndefined();
  });

  it.each([
    `Users/../Events/e1`,
    `Users/${USER}/Events/../../subscriptions`,
    `Users/${USER}/Events/e1/attachments`,
    `Users/${USER}%2F..%2Fx/Events/e1`,
    `Users('${USER}/x')/Events('e1')`,
    `Users/${USER}/Events/<script>`,
    `Users/${USER}/Calendars/e1`,
    `Users/${USER}/mailFolders/inbox`,
    `me/events/e1`,
    `Users/${USER}/Events/e1?$expand=x`,
    `https://attacker.example/v1.0/users/${USER}/events/e1`,
    `https://graph.microsoft.com.attacker.example/v1.0/users/${USER}/events/e1`,
  ])('refuses %s', (resource) => {
    expect(parseItemResource(resource)).toBeUndefined();
  });

  it('binds a resource to its subscription’s own mailbox only', () => {
    const sub = { userId: USER, resource: `/users/${USER}/events` };
    const other = '9b1d2c3e-0000-4000-8000-0000000000ff';
    expect(boundToSubscription(parseItemResource(`Users/${USER}/Events/e1`)!, sub, TENANT)).toBe(true);
    expect(boundToSubscription(parseItemResource(`Users/${USER}@${TENANT}/Events/e1`)!, sub, TENANT)).toBe(true);
    expect(boundToSubscription(parseItemResource(`Users('${USER}@${TENANT}')/Events('e1')`)!, sub, TENANT)).toBe(true);
    expect(boundToSubscription(parseItemResource(`Users/${other}/Events/e1`)!, sub, TENANT)).toBe(false);
    expect(boundToSubscription(parseItemResource(`Users/${USER}@${other}/Events/e1`)!, sub, TENANT)).toBe(false);
    expect(boundToSubscription(parseItemResource('Users/adele@contoso.com/Events/e1')!, sub, TENANT)).toBe(false);
    expect(
      boundToSubscription(
        parseItemResource(`Users/${USER}/Events/e1`)!,
        { userId: USER, resource: `/users/${USER}/messages` },
        TENANT,
      ),
    ).toBe(false);
  });
});

describe('verification', () => {
  const record: SubscriptionRecord = {
    id: 'f2a1c3d4-0000-4000-8000-000000000001',
    tenantId: TENANT,
    userId: USER,
    resource: `/users/${USER}/events`,
    changeType: 'created,updated,deleted',
    clientState: 'secret',
    notificationUrl: 'https://x',
    lifecycleNotificationUrl: undefined,
    expirationDateTime: '2026-12-01T00:00:00Z',
    createdAt: '2026-11-25T00:00:00Z',
    updatedAt: '2026-11-25T00:00:00Z',
  };
  const store = new Collection(
    new FileDocumentStore(mkdtempSync(join(tmpdir(), 'g2k-verify-'))),
    subscriptionCollection,
  );
  beforeAll(() => store.put(record));
  const allowed = new Set([TENANT]);

  it('compares secrets in constant time and never accepts a missing one', () => {
    expect(sameSecret('secret', 'secret')).toBe(true);
    expect(sameSecret('secreT', 'secret')).toBe(false);
    expect(sameSecret('secret-but-longer', 'secret')).toBe(false);
    expect(sameSecret(null, '')).toBe(false);
  });

  it.each([
    ['a matching notification', { clientState: 'secret' }, { ok: true }],
    ['a wrong clientState', { clientState: 'guess' }, { ok: false, reason: 'client_state_mismatch' }],
    ['no clientState', { clientState: null }, { ok: false, reason: 'client_state_mismatch' }],
    [
      'an unknown subscription',
      { subscriptionId: 'f2a1c3d4-0000-4000-8000-000000000099' },
      { ok: false, reason: 'unknown_subscription' },
    ],
    [
      'a tenant outside the allow-list',
      { tenantId: '0c8d2a54-91b7-4e3f-8d26-5a9e7c1b4f30' },
      { ok: false, reason: 'tenant_not_allowed' },
    ],
  ])('judges %s', async (_name, over, verdict) => {
    const n = { subscriptionId: record.id, tenantId: TENANT, clientState: 'secret' as string | null, ...over };
    expect(await new PostVerifier(store, allowed, 10).verify(n)).toMatchObject(verdict);
  });

  it('judges a known subscription used from another allowed tenant as a mismatch', async () => {
    const other = '0c8d2a54-91b7-4e3f-8d26-5a9e7c1b4f30';
    expect(
      await new PostVerifier(store, new Set([TENANT, other]), 10).verify({
        subscriptionId: record.id,
        tenantId: other,
        clientState: 'secret',
      }),
    ).toEqual({ ok: false, reason: 'tenant_mismatch' });
  });

  it('asks Graph to retry a subscription whose create has not returned yet (its pending marker is stored)', async () => {
    const pending = {
      ...record,
      id: pendingId('brand-new-secret'),
      clientState: 'brand-new-secret',
      pending: true,
      pendingUntil: new Date(Date.now() + 60_000).toISOString(),
    };
    await store.put(pending);
    const unknownId = 'f2a1c3d4-0000-4000-8000-000000000077';
    const verifier = new PostVerifier(store, allowed, 10);
    expect(
      await verifier.verify({ subscriptionId: unknownId, tenantId: TENANT, clientState: 'brand-new-secret' }),
    ).toEqual({
      ok: false,
      retry: expect.stringMatching(/being created/),
    });
    // Another secret, or the marker's id used as a subscription id, proves nothing.
    expect(await verifier.verify({ subscriptionId: unknownId, tenantId: TENANT, clientState: 'other' })).toEqual({
      ok: false,
      reason: 'unknown_subscription',
    });
    expect(
      await verifier.verify({ subscriptionId: pending.id, tenantId: TENANT, clientState: 'brand-new-secret' }),
    ).toEqual({
      ok: false,
      retry: expect.any(String),
    });
  });

  it('matches a pending marker only within its window: a clientState holder cannot force 503s with made-up ids', async () => {
    const unknownId = 'f2a1c3d4-0000-4000-8000-000000000078';
    const marker = (over: Partial<typeof record>) => ({
      ...record,
      id: pendingId('settled-secret'),
      clientState: 'settled-secret',
      pending: true,
      ...over,
    });
    const asked = () =>
      new PostVerifier(store, allowed, 10).verify({
        subscriptionId: unknownId,
        tenantId: TENANT,
        clientState: 'settled-secret',
      });
    // Its create returned a while ago: the marker's window has passed.
    await store.put(marker({ pendingUntil: new Date(Date.now() - 1_000).toISOString() }));
    expect(await asked()).toEqual({ ok: false, reason: 'unknown_subscription' });
    // A marker of an earlier version (no window): matched for 10 minutes after it was written.
    await store.put(marker({ updatedAt: new Date(Date.now() - 11 * 60_000).toISOString() }));
    expect(await asked()).toEqual({ ok: false, reason: 'unknown_subscription' });
    await store.put(marker({ updatedAt: new Date().toISOString() }));
    expect(await asked()).toEqual({ ok: false, retry: expect.stringMatching(/being created/) });
  });

  it('shares store reads between items and sends at most the budget to the backend', async () => {
    let reads = 0;
    const dir = mkdtempSync(join(tmpdir(), 'g2k-verify-count-'));
    const counting = new (class extends FileDocumentStore {
      override get(collection: CollectionLayout, id: string) {
        reads++;
        return super.get(collection, id);
      }
    })(dir);
    await new Collection(counting, subscriptionCollection).put(record);
    const cached = new CachedSubscriptions(counting);
    const verifier = new PostVerifier(cached, allowed, 5);
    const forged = Array.from({ length: 50 }, (_, i) => ({
      subscriptionId: `f2a1c3d4-0000-4000-9000-${String(i).padStart(12, '0')}`,
      tenantId: TENANT,
      clientState: null,
    }));
    const genuine = { subscriptionId: record.id, tenantId: TENANT, clientState: 'secret' };
    const verdicts = await Promise.all([genuine, genuine, genuine, ...forged].map((n) => verifier.verify(n)));
    expect(verdicts[0]).toMatchObject({ ok: true });
    expect(verdicts.filter((v) => !v.ok && 'reason' in v && v.reason === 'lookup_limit')).toHaveLength(46);
    expect(reads).toBe(5);
    // Unknown ids are remembered briefly: the same forged POST again reads nothing.
    const again = new PostVerifier(cached, allowed, 5);
    await Promise.all(forged.slice(0, 4).map((n) => again.verify(n)));
    expect(reads).toBe(5);
  });

  it('never turns a subscription id into a path', async () => {
    expect(await store.get('../../../etc/passwd')).toBeUndefined();
  });
});
