import { answerHandshake, FileSubscriptionStore, sameSecret, type SubscriptionRecord } from '../src/index.ts';
import { parseChangeNotifications, parseLifecycleNotifications } from '../src/receive/parse.ts';
import { verify } from '../src/receive/verify.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TENANT = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
const USER = '1d5c2b8a-7e3f-4c91-b6a0-2f8e9d4c7b15';
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

describe('schema', () => {
  it('accepts Graph’s event notifications in both resource forms', () => {
    const parsed = parseChangeNotifications(
      body(item(), item({ resource: `Users/${USER}/Events('AAMkAbc=')`, resourceData: undefined })),
    );
    expect(parsed).toMatchObject({
      ok: true,
      items: [{ userId: USER, eventId: 'AAMkAbc=', tenantId: TENANT }, { eventId: 'AAMkAbc=' }],
    });
  });

  it.each([
    ['not JSON', Buffer.from('nope'), /not valid JSON/],
    ['an array', Buffer.from('[]'), /JSON object/],
    ['an empty value', body(), /non-empty 'value'/],
    ['a bad change type', body(item({ changeType: 'moved' })), /changeType/],
    ['a non-event resource', body(item({ resource: `Users/${USER}/Messages/x` })), /Outlook event/],
    ['a path-like subscription id', body(item({ subscriptionId: '../../etc/passwd' })), /subscriptionId/],
    ['a tenant that is not a GUID', body(item({ tenantId: 'contoso' })), /tenantId/],
    ['an overlong clientState', body(item({ clientState: 'x'.repeat(256) })), /clientState/],
    ['a malformed event id', body(item({ resourceData: { id: '<script>' } })), /event id/],
  ])('refuses %s with a reason', (_name, raw, reason) => {
    const parsed = parseChangeNotifications(raw);
    expect(parsed.ok).toBe(false);
    expect((parsed as { reason: string }).reason).toMatch(reason);
  });

  it('parses lifecycle notifications and refuses unknown lifecycle events', () => {
    expect(
      parseLifecycleNotifications(
        body({ subscriptionId: 's-1', tenantId: TENANT, clientState: 'c', lifecycleEvent: 'missed' }),
      ),
    ).toMatchObject({ ok: true, items: [{ lifecycleEvent: 'missed' }] });
    expect(
      parseLifecycleNotifications(body({ subscriptionId: 's-1', tenantId: TENANT, lifecycleEvent: 'exploded' })).ok,
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
  const store = new FileSubscriptionStore(mkdtempSync(join(tmpdir(), 'g2k-verify-')));
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
    expect(await verify(n, store, allowed)).toMatchObject(verdict);
  });

  it('judges a known subscription used from another allowed tenant as a mismatch', async () => {
    const other = '0c8d2a54-91b7-4e3f-8d26-5a9e7c1b4f30';
    expect(
      await verify(
        { subscriptionId: record.id, tenantId: other, clientState: 'secret' },
        store,
        new Set([TENANT, other]),
      ),
    ).toEqual({ ok: false, reason: 'tenant_mismatch' });
  });

  it('never turns a subscription id into a path', async () => {
    expect(await store.get('../../../etc/passwd')).toBeUndefined();
  });
});
