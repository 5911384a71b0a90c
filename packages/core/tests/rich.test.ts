import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { CHANGE_TRACKING_APP_ID as SIM_PUBLISHER, encryptResource, GraphSim } from '@graph2kafka/graph-sim';
import {
  CHANGE_TRACKING_APP_ID,
  createEncryptionCertificate,
  decryptContent,
  trustingFetch,
  ValidationTokenVerifier,
  type EncryptionCertificate,
  type KeyRing,
} from '../src/index.ts';

const flip = (b64: string, at = 10): string => {
  const bytes = Buffer.from(b64, 'base64');
  bytes[at] = bytes[at]! ^ 0x01;
  return bytes.toString('base64');
};

describe('rich notifications: decrypting encryptedContent as Microsoft documents it', () => {
  let current: EncryptionCertificate;
  let previous: EncryptionCertificate;
  let keys: KeyRing;
  const event = { '@odata.type': '#Microsoft.Graph.Event', id: 'AAMkAGI=', subject: 'Quarterly review' };
  beforeAll(async () => {
    [current, previous] = await Promise.all([
      createEncryptionCertificate('g2k-2026-12'),
      createEncryptionCertificate('g2k-2026-11'),
    ]);
    keys = new Map([
      [current.id, createPrivateKey(current.privateKeyPem)],
      [previous.id, createPrivateKey(previous.privateKeyPem)],
    ]);
  });

  it('makes a certificate Graph accepts: RSA 2048, DER base64, a thumbprint; refuses a bad id or size', async () => {
    expect(current.certificate).toMatch(/^MII/);
    expect(current.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    await expect(createEncryptionCertificate('has space')).rejects.toThrow(/letters, digits/);
    await expect(createEncryptionCertificate('ok', 1024)).rejects.toThrow(/2048 to 4096/);
  });

  it('decrypts what graph-sim encrypts, with the current key or the previous one during a rotation', () => {
    for (const cert of [current, previous]) {
      const content = encryptResource(event, cert.certificate, cert.id);
      expect(content.encryptionCertificateThumbprint).toBe(cert.thumbprint);
      expect(decryptContent(content, keys)).toEqual({ ok: true, resource: event });
    }
  });

  it('never decrypts tampered data, a forged signature or a key it cannot unwrap; names the reason', () => {
    const content = encryptResource(event, current.certificate, current.id);
    expect(decryptContent({ ...content, data: flip(content.data) }, keys)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(decryptContent({ ...content, dataSignature: flip(content.dataSignature) }, keys)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(decryptContent({ ...content, dataKey: flip(content.dataKey, 40) }, keys)).toEqual({
      ok: false,
      reason: 'bad_key',
    });
    // Encrypted for our certificate id, but with another key pair: it does not unwrap.
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(decryptContent(content, new Map([[current.id, stranger.privateKey]]))).toEqual({
      ok: false,
      reason: 'bad_key',
    });
    expect(decryptContent({ ...content, encryptionCertificateId: 'retired' }, keys)).toEqual({
      ok: false,
      reason: 'unknown_key',
    });
    for (const bad of [null, 'x', { ...content, data: 'not base64!' }, { ...content, dataKey: undefined }])
      expect(decryptContent(bad, keys)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('rich notifications: validationTokens checked against the signing keys graph-sim publishes', () => {
  let sim: GraphSim;
  let verifier: ValidationTokenVerifier;
  let keys: ReturnType<typeof trustingFetch>;
  let appId: string;
  let tenantId: string;
  beforeAll(async () => {
    sim = await GraphSim.start();
    appId = sim.defaults.clientId;
    tenantId = sim.defaults.tenantId;
    keys = trustingFetch(sim.caCertPem);
    verifier = new ValidationTokenVerifier({
      jwksUrl: `${sim.urls.authority}/common/discovery/v2.0/keys`,
      appIds: [appId],
      authorityHost: sim.urls.authority,
      fetch: keys.fetch,
    });
  });
  afterAll(async () => {
    await keys.close();
    await sim.stop();
  });

  it('graph-sim mints tokens for the same publisher graph2kafka expects', () => {
    expect(SIM_PUBLISHER).toBe(CHANGE_TRACKING_APP_ID);
  });

  it('accepts genuine tokens and names the tenants they cover; measures a cold key fetch', async () => {
    const other = sim.directory.listUsers().find((u) => u.tenantId !== tenantId)!.tenantId;
    const tokens = await Promise.all([sim.validationToken(appId, tenantId), sim.validationToken(appId, other)]);
    const cold = new ValidationTokenVerifier({
      jwksUrl: `${sim.urls.authority}/common/discovery/v2.0/keys`,
      appIds: [appId],
      authorityHost: sim.urls.authority,
      fetch: keys.fetch,
    });
    const started = performance.now();
    const verdict = await cold.verify(tokens);
    console.log(
      `[rich] two validation tokens verified with a cold key cache in ${(performance.now() - started).toFixed(1)} ms`,
    );
    expect(verdict).toEqual({ ok: true, tenants: new Set([tenantId, other.toLowerCase()]) });
  });

  it.each([
    ['missing', () => Promise.resolve([] as string[]), 'missing'],
    [
      'signed by another key',
      async (s: GraphSim, a: string, t: string) => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        return [await s.validationToken(a, t, { key: privateKey as never })];
      },
      'bad_signature',
    ],
    [
      'for another app',
      async (s: GraphSim, _a: string, t: string) => [
        await s.validationToken('00000000-0000-0000-0000-000000000001', t),
      ],
      'wrong_audience',
    ],
    [
      'minted for another publisher',
      async (s: GraphSim, a: string, t: string) => [
        await s.validationToken(a, t, { claims: { azp: 'a0c1f3b8-0000-4000-8000-000000000000' } }),
      ],
      'wrong_publisher',
    ],
    [
      'expired',
      async (s: GraphSim, a: string, t: string) => [await s.validationToken(a, t, { expiredSecondsAgo: 3_600 })],
      'expired',
    ],
    [
      'whose tid is not its issuer tenant',
      async (s: GraphSim, a: string, t: string) => [
        await s.validationToken(a, t, { claims: { tid: '11111111-2222-4333-8444-555555555555' } }),
      ],
      'wrong_issuer',
    ],
    ['not a JWT', () => Promise.resolve(['not.a.jwt']), 'malformed'],
  ] as const)('refuses tokens %s', async (_name, make, reason) => {
    const tokens = await make(sim, appId, tenantId);
    const genuine = await sim.validationToken(appId, tenantId);
    // One bad token makes the whole set unproven, even beside a genuine one.
    expect(await verifier.verify(tokens.length ? [genuine, ...tokens] : tokens)).toEqual({ ok: false, reason });
  });
});
