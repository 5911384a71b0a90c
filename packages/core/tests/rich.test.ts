import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { CHANGE_TRACKING_APP_ID as SIM_PUBLISHER, encryptResource, GraphSim } from '@graph2kafka/graph-sim';
import { createEncryptionCertificate, decryptContent, trustingFetch, ValidationTokenVerifier } from '../src/index.ts';
import { CHANGE_TRACKING_APP_ID } from '../src/rich/validation-tokens.ts';
import type { EncryptionCertificate } from '../src/rich/certificate.ts';
import type { KeyRing } from '../src/rich/decrypt.ts';
import { tokenIdentity } from '../src/rich/validation-tokens.ts';

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

  it('takes one spelling of a token only, so a used token cannot be replayed re-spelled', async () => {
    const jwks = createRemoteJWKSet(new URL(`${sim.urls.authority}/common/discovery/v2.0/keys`), {
      [customFetch]: keys.fetch,
    });
    const jwtVerifyLoose = (token: string) => jwtVerify(token, jwks).then(() => true);
    const genuine = await sim.validationToken(appId, tenantId);
    const [header, payload, signature] = genuine.split('.') as [string, string, string];
    // The last character of a 256-byte signature carries 2 bits; the other 4 are ignored by base64url decoders.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature.at(-1)!);
    const lowBits = `${header}.${payload}.${signature.slice(0, -1)}${alphabet[last ^ 0b0101]}`;
    const spellings = [lowBits, `${genuine}==`, `${genuine} `, `${genuine}\n`, ` ${genuine}`];
    // jose itself takes every one of them as the same signed token: the rule must not rest on the text.
    for (const s of spellings.slice(0, 2)) await expect(jwtVerifyLoose(s)).resolves.toBeTruthy();
    expect(await verifier.verify([genuine])).toMatchObject({ ok: true });
    for (const s of spellings) expect(await verifier.verify([s])).toEqual({ ok: false, reason: 'malformed' });
    expect(await verifier.verify([genuine])).toEqual({ ok: false, reason: 'replayed' });
    // Spelled strictly, a token's identity is its signature: the same for every spelling a decoder accepts.
    expect(tokenIdentity(genuine)).toBe(
      createHash('sha256').update(Buffer.from(signature, 'base64url')).digest('base64url'),
    );
    expect(spellings.map(tokenIdentity)).toEqual(spellings.map(() => undefined));
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
