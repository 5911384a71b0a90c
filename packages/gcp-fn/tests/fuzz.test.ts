import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createAppFromEnv, silentLogger, type Graph2Kafka, type SubscriptionRecord } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { createSubscription, pipelineEnv, TopicReader } from '@graph2kafka/testkit';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { httpHandler } from '../src/handlers.ts';
import { installWireGuard } from '../src/wire-guard.ts';

installWireGuard();

/**
 * Property-based fuzzing of the notification webhook on a real functions-framework server: malformed and
 * forged bodies, headers and query strings. `G2K_FUZZ_RUNS` runs per property (CI: 600 → 4,350 inputs over 8 properties;
 * `pnpm fuzz`: 2,000 → 14,500).
 */
const RUNS = Number(process.env.G2K_FUZZ_RUNS ?? 600);
const SEED = Number(process.env.G2K_FUZZ_SEED ?? Date.now() % 2 ** 31);
const ALLOWED = new Set([202, 400, 405, 413, 415]);

describe(`webhook fuzzing (${RUNS} runs per property, seed ${SEED})`, () => {
  let sim: GraphSim;
  let app: Graph2Kafka;
  let server: Server;
  let reader: TopicReader;
  let sub: SubscriptionRecord;
  let base: string;
  const agent = new Agent({ connections: 16 });
  let sent = 0;

  beforeAll(async () => {
    sim = await GraphSim.start();
    const setup = pipelineEnv(sim, { G2K_MAX_BODY_BYTES: '65536' });
    app = await createAppFromEnv(setup.env, [], { logger: silentLogger });
    http(
      'fuzzNotifications',
      httpHandler(() => Promise.resolve(app)),
    );
    server = getTestServer('fuzzNotifications');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    reader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), setup.topic);
    sub = await createSubscription(sim, app.subscriptions, {
      userId: sim.defaults.users[0]!.id,
      notificationUrl: `${base}/`,
    });
  }, 30_000);

  afterAll(async () => {
    // Nothing of all that was generated may have reached Kafka; one real change after it must (the control).
    sim.createEvent(sub.userId, { subject: 'control' });
    await sim.settled();
    await reader.waitFor(1);
    // The control was acknowledged last, so reading to the end sees anything produced before it.
    await reader.readToEnd();
    const produced = reader.records.length - 1;
    const control = reader.records.filter(
      (r) => r.headers['g2k-notification-id'] === sim.notifications({ kind: 'change' })[0]?.id,
    );
    await reader.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await agent.close();
    await app.close();
    await sim.stop();
    console.log(`[fuzz] ${sent} generated requests, seed ${SEED}, records produced for them: ${produced}`);
    expect(control).toHaveLength(1);
    expect(produced).toBe(0);
  });

  async function send(
    path: string,
    body: string | Buffer | undefined,
    headers: Record<string, string>,
    method = 'POST',
  ) {
    sent++;
    const res = await request(`${base}${path}`, { method: method as 'POST', body, headers, dispatcher: agent });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  }

  const forgedNotification = fc.record({
    id: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    subscriptionId: fc.oneof(fc.uuid(), fc.constant('REAL'), fc.string({ maxLength: 80 })),
    subscriptionExpirationDateTime: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
    ),
    changeType: fc.oneof(fc.constantFrom('created', 'updated', 'deleted'), fc.string({ maxLength: 12 })),
    resource: fc.oneof(
      fc.tuple(fc.uuid(), fc.string({ minLength: 1, maxLength: 60 })).map(([u, e]) => `Users/${u}/Events/${e}`),
      fc.string({ maxLength: 200 }),
    ),
    resourceData: fc.oneof(fc.record({ id: fc.string({ maxLength: 60 }) }), fc.constant(undefined), fc.anything()),
    clientState: fc.oneof(fc.constant(null), fc.string({ maxLength: 300 })),
    tenantId: fc.oneof(fc.uuid(), fc.constant('TENANT'), fc.string({ maxLength: 40 })),
  });

  it('never crashes, never answers an unexpected status, and produces nothing for forged notifications', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(forgedNotification, { minLength: 1, maxLength: 25 }), async (items) => {
        const value = items.map((n) => ({
          ...n,
          subscriptionId: n.subscriptionId === 'REAL' ? sub.id : n.subscriptionId,
          tenantId: n.tenantId === 'TENANT' ? sim.defaults.tenantId : n.tenantId,
          // Forged: never the subscription's secret.
          clientState: n.clientState === sub.clientState ? `${n.clientState}x` : n.clientState,
        }));
        const res = await send('/', JSON.stringify({ value }), { 'content-type': 'application/json' });
        expect(ALLOWED.has(res.status)).toBe(true);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);

  it('survives arbitrary bytes with arbitrary content types and headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)),
          fc.json().map((j) => Buffer.from(j)),
          fc.constant(Buffer.alloc(70_000, 0x7b)),
        ),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/octet-stream',
          'application/x-www-form-urlencoded',
          'application/json; charset=utf-16',
          '',
        ),
        fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), fc.stringMatching(/^[ -~]{0,60}$/), { maxKeys: 5 }),
        async (body, contentType, extra) => {
          const res = await send('/', body, { ...extra, ...(contentType ? { 'content-type': contentType } : {}) });
          expect(ALLOWED.has(res.status)).toBe(true);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);

  it('reflects nothing but the decoded validation token, as text/plain', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 300 }), async (token) => {
        const res = await send(`/?${new URLSearchParams({ validationToken: token }).toString()}`, undefined, {});
        expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        if (token.length >= 1 && token.length <= 1_024) {
          expect(res.status).toBe(200);
          expect(res.text).toBe(token);
        } else expect(res.status).toBe(400);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);

  it('answers arbitrary query strings and methods without an unexpected status', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200 }),
        fc.constantFrom('POST', 'GET', 'PUT', 'DELETE', 'PATCH'),
        async (rawQuery, method) => {
          const query = encodeURI(rawQuery).replace(/#/g, '%23');
          const res = await send(
            `/?${query}`,
            method === 'GET' ? undefined : '{"value":[]}',
            { 'content-type': 'application/json' },
            method,
          );
          expect(res.status < 500).toBe(true);
          if (new URLSearchParams(query).has('validationToken'))
            expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);

  it('reads and writes nothing outside the subscription’s mailbox, whatever the resource of a genuine item says', async () => {
    const other = sim.defaults.users[1]!.id;
    const foreignTenant = sim.directory.listUsers().find((u) => u.tenantId !== sim.defaults.tenantId)!.tenantId;
    const me = sub.userId;
    const eventId = fc.stringMatching(/^[A-Za-z0-9_=+-]{1,40}$/);
    const hostile = fc.oneof(
      fc.tuple(fc.oneof(fc.uuid(), fc.constant(other)), eventId).map(([u, e]) => `Users/${u}/Events/${e}`),
      fc.tuple(fc.oneof(fc.uuid(), fc.constant(other)), eventId).map(([u, e]) => `Users('${u}')/Events('${e}')`),
      eventId.map((e) => `Users/${me}@${foreignTenant}/Events/${e}`),
      eventId.map((e) => `Users/adele@contoso.onmicrosoft.com/Events/${e}`),
      fc
        .tuple(eventId, fc.constantFrom('../', '..%2F', '%2e%2e/', './', '//'), fc.constant(other))
        .map(([e, dots, u]) => `Users/${me}/Events/${e}/${dots}${dots}users/${u}/events/${e}`),
      fc
        .tuple(eventId, fc.string({ maxLength: 20 }))
        .map(([e, tail]) => `Users/${me}/Events/${e}${tail.replace(/^[A-Za-z0-9_=+-]*/, '/')}`),
      fc
        .tuple(eventId, fc.constantFrom('Messages', 'Contacts', 'calendar/events', 'mailFolders/inbox/messages'))
        .map(([e, kind]) => `Users/${me}/${kind}/${e}`),
      fc.string({ maxLength: 120 }),
    );
    const batchItemReads = () => sim.records.requests.all().filter((r) => r.batchId).length;
    const readsBefore = batchItemReads();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(hostile, fc.constantFrom('created', 'updated', 'deleted')), { minLength: 1, maxLength: 20 }),
        async (items) => {
          const value = items.map(([resource, changeType]) => ({
            subscriptionId: sub.id,
            changeType,
            resource,
            clientState: sub.clientState,
            tenantId: sim.defaults.tenantId,
          }));
          const res = await send('/', JSON.stringify({ value }), { 'content-type': 'application/json' });
          expect(res.status).toBe(202);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    // Not one Graph read for any of them: nothing they named was the subscription's own mailbox.
    expect(batchItemReads()).toBe(readsBefore);
  }, 600_000);

  it('refuses compressed bodies before reading them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('gzip', 'deflate', 'br', 'x-gzip', 'GZIP', 'gzip, identity', 'zstd', 'compress'),
        fc.uint8Array({ maxLength: 2_000 }),
        async (encoding, bytes) => {
          const res = await send('/', Buffer.from(bytes), {
            'content-type': 'application/json',
            'content-encoding': encoding,
          });
          expect(res.status).toBe(415);
        },
      ),
      { numRuns: Math.max(50, Math.floor(RUNS / 4)), seed: SEED },
    );
  }, 600_000);

  it('refuses bodies built to cost memory — dense values, junk items beside a forged one — before building them', async () => {
    const junk = fc.oneof(
      fc.constantFrom('[]', '{}', '0', 'null', 'true', '""', '[[]]', '{"a":1}'),
      fc.integer().map(String),
      fc.string({ maxLength: 12 }).map((t) => JSON.stringify(t)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(junk, { minLength: 1, maxLength: 5_000 }),
        fc.option(forgedNotification, { nil: undefined }),
        async (values, forged) => {
          const items = forged ? [JSON.stringify({ ...forged, clientState: 'forged' }), ...values] : values;
          const res = await send('/', `{"value":[${items.join(',')}]}`, { 'content-type': 'application/json' });
          expect(ALLOWED.has(res.status)).toBe(true);
          // More junk than Graph could ever send is never given a verdict per item.
          if (values.length > 64) expect(res.status).toBe(400);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  }, 600_000);

  it('answers forged notifications inside a valid-looking envelope with 202 and counts them', async () => {
    const before = app.receiver.counters.rejected;
    const total =
      before.client_state_mismatch + before.unknown_subscription + before.tenant_not_allowed + before.tenant_mismatch;
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 128 }),
        fc.constantFrom('created', 'updated', 'deleted'),
        async (guess, changeType) => {
          fc.pre(guess !== sub.clientState);
          const value = [
            {
              subscriptionId: sub.id,
              changeType,
              resource: `Users/${sub.userId}/Events/AAMkfuzz=`,
              resourceData: { id: 'AAMkfuzz=' },
              clientState: guess,
              tenantId: sim.defaults.tenantId,
            },
          ];
          const res = await send('/', JSON.stringify({ value }), { 'content-type': 'application/json' });
          expect(res.status).toBe(202);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    const after = app.receiver.counters.rejected;
    expect(
      after.client_state_mismatch +
        after.unknown_subscription +
        after.tenant_not_allowed +
        after.tenant_mismatch -
        total,
    ).toBeGreaterThanOrEqual(RUNS);
  }, 600_000);
});
