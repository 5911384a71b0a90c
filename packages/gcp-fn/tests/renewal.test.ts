import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createAppFromEnv, silentLogger, type Graph2Kafka } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { freePort, pipelineEnv } from '@graph2kafka/testkit';
import { serveApp } from '@graph2kafka/core/http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
import { renewalHandler } from '../src/renewal.ts';

const AUDIENCE = 'https://europe-west1-proj.cloudfunctions.net/subscriptionRenewal';
const INVOKER = 'scheduler@proj.iam.gserviceaccount.com';

describe('GCP renewal endpoint: Cloud Scheduler with an OIDC token', () => {
  let sim: GraphSim;
  let app: Graph2Kafka;
  let jwks: Server;
  let fn: Server;
  let url: string;
  let closeReceiver: () => Promise<void>;
  /** How often the handler asked for the app: a refused caller must not make it load. */
  let loads = 0;
  let sign: (claims: Record<string, unknown>, key?: SigningKey) => Promise<string>;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    // Google's JWKS endpoint, served locally.
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    sign = (claims, key = privateKey) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer('https://accounts.google.com')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);

    sim = await GraphSim.start();
    const port = await freePort();
    const setup = pipelineEnv(sim, {
      G2K_NOTIFICATION_URL: `http://127.0.0.1:${port}/notifications`,
      G2K_LIFECYCLE_URL: `http://127.0.0.1:${port}/lifecycle`,
      G2K_SUBSCRIBE_USERS: sim.defaults.users.map((u) => u.id).join(','),
      G2K_RENEWAL_AUDIENCE: AUDIENCE,
      G2K_RENEWAL_INVOKER: INVOKER,
      G2K_OIDC_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/certs`,
    });
    app = await createAppFromEnv(setup.env, [], { logger: silentLogger });
    closeReceiver = (await serveApp(app, port)).close;
    http(
      'renewalUnderTest',
      renewalHandler(() => {
        loads++;
        return Promise.resolve(app);
      }, setup.env),
    );
    fn = getTestServer('renewalUnderTest');
    await new Promise<void>((r) => fn.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(fn.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    fn.closeAllConnections();
    await new Promise((r) => fn.close(r));
    await new Promise((r) => jwks.close(r));
    await closeReceiver();
    await app.close();
    await sim.stop();
  });

  const call = (token?: string) =>
    fetch(url, { method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {} });

  it('refuses a call without a token with 401', async () => {
    const res = await call();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(sim.subscriptions.all()).toHaveLength(0);
  });

  it('refuses a token signed by another key with 401', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const res = await call(await sign({ aud: AUDIENCE, email: INVOKER, email_verified: true }, privateKey));
    expect(res.status).toBe(401);
  });

  it('refuses a Google token for another audience with 403', async () => {
    const res = await call(await sign({ aud: 'https://elsewhere.example', email: INVOKER, email_verified: true }));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/another audience/);
  });

  it('refuses a token of another service account with 403', async () => {
    const res = await call(
      await sign({ aud: AUDIENCE, email: 'intruder@proj.iam.gserviceaccount.com', email_verified: true }),
    );
    expect(res.status).toBe(403);
    expect(sim.subscriptions.all()).toHaveLength(0);
  });

  it('loads the app for none of the refused calls', () => {
    expect(loads).toBe(0);
  });

  it('runs the reconcile for Cloud Scheduler’s token and answers with the report', async () => {
    const res = await call(await sign({ aud: AUDIENCE, email: INVOKER, email_verified: true }));
    expect(res.status).toBe(200);
    expect(loads).toBe(1);
    const report = (await res.json()) as { created: string[]; errors: string[] };
    expect(report.created).toHaveLength(sim.defaults.users.length);
    expect(report.errors).toEqual([]);
    expect(sim.subscriptions.all()).toHaveLength(sim.defaults.users.length);
  });
});
