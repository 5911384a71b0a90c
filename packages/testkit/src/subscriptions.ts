import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import type { GraphSim } from '@graph2kafka/graph-sim';

/**
 * The fields of core's `SubscriptionRecord` that a test subscription has, spelled here so that testkit does not
 * depend on core (core's own tests use testkit). Structural: core's store accepts it and core's record is one.
 */
export interface TestSubscription {
  id: string;
  tenantId: string;
  userId: string;
  resource: string;
  changeType: string;
  clientState: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | undefined;
  expirationDateTime: string;
  createdAt: string;
  updatedAt: string;
}

export async function simCall(
  sim: GraphSim,
  method: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string>,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(`${sim.urls.base}${path}`, { method, headers, ca: sim.caCertPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function simToken(sim: GraphSim, tenantId = sim.defaults.tenantId): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: sim.defaults.clientId,
    client_secret: sim.defaults.clientSecret,
    scope: 'https://graph.microsoft.com/.default',
  }).toString();
  const res = await simCall(sim, 'POST', `/${tenantId}/oauth2/v2.0/token`, form, {
    'Content-Type': 'application/x-www-form-urlencoded',
  });
  if (res.status !== 200) throw new Error(`graph-sim refused a token: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { access_token: string }).access_token;
}

/**
 * What the subscription manager will do for real: create a subscription through Graph (immutable ids, a fresh
 * clientState secret, a lifecycle URL) and keep its secret in the store the receive path reads.
 */
export async function createSubscription(
  sim: GraphSim,
  store: { put(record: TestSubscription): Promise<unknown> },
  opts: { userId: string; notificationUrl: string; lifecycleNotificationUrl?: string; tenantId?: string },
): Promise<TestSubscription> {
  const tenantId = opts.tenantId ?? sim.defaults.tenantId;
  const clientState = randomBytes(24).toString('base64url');
  const token = await simToken(sim, tenantId);
  const res = await simCall(
    sim,
    'POST',
    '/v1.0/subscriptions',
    JSON.stringify({
      changeType: 'created,updated,deleted',
      notificationUrl: opts.notificationUrl,
      ...(opts.lifecycleNotificationUrl ? { lifecycleNotificationUrl: opts.lifecycleNotificationUrl } : {}),
      resource: `/users/${opts.userId}/events`,
      expirationDateTime: new Date(sim.clock.now() + 3 * 24 * 3_600_000).toISOString(),
      clientState,
    }),
    { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Prefer: 'IdType="ImmutableId"' },
  );
  if (res.status !== 201) throw new Error(`subscription create failed: ${res.status} ${JSON.stringify(res.body)}`);
  const sub = res.body as {
    id: string;
    resource: string;
    changeType: string;
    notificationUrl: string;
    expirationDateTime: string;
  };
  const now = new Date().toISOString();
  const record: TestSubscription = {
    id: sub.id,
    tenantId,
    userId: opts.userId,
    resource: sub.resource,
    changeType: sub.changeType,
    clientState,
    notificationUrl: sub.notificationUrl,
    lifecycleNotificationUrl: opts.lifecycleNotificationUrl,
    expirationDateTime: sub.expirationDateTime,
    createdAt: now,
    updatedAt: now,
  };
  await store.put(record);
  return record;
}

/** A POST body as Graph sends it for one change of an event of the subscription's mailbox (basic, one item). */
export function eventChangeBody(sub: TestSubscription, eventId: string, changeType = 'updated'): Buffer {
  return Buffer.from(
    JSON.stringify({
      value: [
        {
          subscriptionId: sub.id,
          subscriptionExpirationDateTime: sub.expirationDateTime,
          changeType,
          resource: `Users/${sub.userId}/Events/${eventId}`,
          resourceData: { id: eventId },
          clientState: sub.clientState,
          tenantId: sub.tenantId,
        },
      ],
    }),
  );
}
