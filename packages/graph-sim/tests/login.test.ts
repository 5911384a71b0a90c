import { AuthenticationRequiredError, ClientSecretCredential } from '@azure/identity';
import { SignJWT, generateKeyPair } from 'jose';
import type { GraphSim } from '../src/index.ts';
import { call, getToken, startSim } from './helpers.ts';

describe('login: Entra-like token endpoint for app-only tokens', () => {
  let sim: GraphSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());

  const credential = (secret = sim.defaults.clientSecret, tenant = sim.defaults.tenantId) =>
    new ClientSecretCredential(tenant, sim.defaults.clientId, secret, {
      authorityHost: sim.urls.authority,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: sim.caCertPem },
    });

  it('serves the real @azure/identity ClientSecretCredential, and the token works on Graph', async () => {
    sim.records.clear();
    const cred = credential();
    const token = await cred.getToken('https://graph.microsoft.com/.default');
    expect(token.token.split('.')).toHaveLength(3);
    const lifetimeMin = (token.expiresOnTimestamp - sim.clock.now()) / 60_000;
    expect(lifetimeMin).toBeGreaterThanOrEqual(59);
    expect(lifetimeMin).toBeLessThanOrEqual(90);
    // MSAL serves the second call from its cache: one token request in the records.
    await cred.getToken('https://graph.microsoft.com/.default');
    expect(sim.records.requests.all().filter((r) => r.path.endsWith('/oauth2/v2.0/token'))).toHaveLength(1);

    const user = sim.defaults.users[0]!;
    const created = sim.createEvent(user.id, { subject: 'Planning' });
    const res = await call(sim, 'GET', `/v1.0/users/${user.id}/events/${created.id}?$select=subject`, {
      token: token.token,
    });
    expect(res.status).toBe(200);
    expect(res.body.subject).toBe('Planning');
  });

  it('refuses a wrong secret in a way @azure/identity reports as an authentication error', async () => {
    await expect(credential('wrong').getToken('https://graph.microsoft.com/.default')).rejects.toBeInstanceOf(
      AuthenticationRequiredError,
    );
    const res = await call(sim, 'POST', `/${sim.defaults.tenantId}/oauth2/v2.0/token`, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      raw: `grant_type=client_credentials&client_id=${sim.defaults.clientId}&client_secret=wrong&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default`,
    });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.body.error_codes).toEqual([7000215]);
  });

  it.each([
    [
      'an unknown tenant',
      'nowhere.example',
      'grant_type=client_credentials&client_id=x&client_secret=y&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default',
      400,
      'invalid_tenant',
    ],
    [
      'an unknown app',
      '',
      'grant_type=client_credentials&client_id=nope&client_secret=y&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default',
      400,
      'unauthorized_client',
    ],
    [
      'a scope without /.default',
      '',
      'grant_type=client_credentials&client_id=APP&client_secret=SECRET&scope=Calendars.Read',
      400,
      'invalid_scope',
    ],
    ['another grant type', '', 'grant_type=password&client_id=APP', 400, 'unsupported_grant_type'],
  ])('answers %s with an OAuth error', async (_name, tenant, form, status, error) => {
    const raw = form.replace('APP', sim.defaults.clientId).replace('SECRET', sim.defaults.clientSecret);
    const res = await call(sim, 'POST', `/${tenant || sim.defaults.tenantId}/oauth2/v2.0/token`, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      raw,
    });
    expect(res.status).toBe(status);
    expect(res.body.error).toBe(error);
    expect(res.body.error_description).toMatch(/^AADSTS\d+: /);
  });

  it('answers 503 temporarily_unavailable during a token outage, and recovers', async () => {
    sim.setFaults({ tokenOutage: true });
    await expect(getToken(sim)).rejects.toThrow(/503.*temporarily_unavailable/);
    sim.setFaults({ tokenOutage: false });
    await expect(getToken(sim)).resolves.toMatch(/\./);
  });

  it('sends Retry-After with the outage only when told to (MSAL waits that long, or 60 s without it)', async () => {
    const tokenRequest = () =>
      call(sim, 'POST', `/${sim.defaults.tenantId}/oauth2/v2.0/token`, {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        raw: `grant_type=client_credentials&client_id=${sim.defaults.clientId}&client_secret=${sim.defaults.clientSecret}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default`,
      });
    sim.setFaults({ tokenOutage: true });
    const plain = await tokenRequest();
    expect(plain.status).toBe(503);
    expect(plain.headers['retry-after']).toBeUndefined();
    sim.setFaults({ tokenOutageRetryAfterSeconds: 2 });
    const told = await tokenRequest();
    expect(told.status).toBe(503);
    expect(told.headers['retry-after']).toBe('2');
    sim.setFaults({ tokenOutage: false, tokenOutageRetryAfterSeconds: 0 });
  });

  describe('Graph refuses bad tokens with 401 and Graph error JSON', () => {
    const path = () => `/v1.0/users/${sim.defaults.users[0]!.id}/events`;

    it('a missing token', async () => {
      const res = await call(sim, 'GET', path());
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'InvalidAuthenticationToken', message: 'Access token is empty.' });
      expect(res.body.error.innerError['request-id']).toEqual(expect.any(String));
    });

    it('an expired token (the simulated clock moves past its lifetime)', async () => {
      const token = await getToken(sim);
      expect((await call(sim, 'GET', path(), { token })).status).toBe(200);
      sim.clock.advance(91 * 60_000);
      const res = await call(sim, 'GET', path(), { token });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toMatch(/expired/);
    });

    it('a foreign token (signed by another key)', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const now = Math.floor(sim.clock.now() / 1000);
      const forged = await new SignJWT({ appid: sim.defaults.clientId, tid: sim.defaults.tenantId })
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(`https://sts.windows.net/${sim.defaults.tenantId}/`)
        .setAudience('https://graph.microsoft.com')
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(privateKey);
      const res = await call(sim, 'GET', path(), { token: forged });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('InvalidAuthenticationToken');
    });

    it('a token of another simulator instance', async () => {
      const other = await startSim();
      try {
        const token = await getToken(other);
        const res = await call(sim, 'GET', path(), { token });
        expect(res.status).toBe(401);
      } finally {
        await other.stop();
      }
    });
  });

  it('serves OpenID discovery and JWKS for the tenant', async () => {
    const res = await call(sim, 'GET', `/${sim.defaults.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.body.token_endpoint).toBe(`${sim.urls.authority}/${sim.defaults.tenantId}/oauth2/v2.0/token`);
    const keys = await call(sim, 'GET', new URL(res.body.jwks_uri as string).pathname);
    expect(keys.body.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
  });
});
