import { constants, createDecipheriv, createHmac, privateDecrypt, X509Certificate } from 'node:crypto';
import { decodeJwt } from 'jose';
import { generate } from 'selfsigned';
import { CHANGE_TRACKING_APP_ID, type GraphSim } from '../src/index.ts';
import { call, futureIso, getToken, Receiver, startSim, waitFor } from './helpers.ts';

/** A certificate as a subscriber makes one: RSA, self-signed, DER base64, with its private key. */
async function certificate(bits = 2048): Promise<{ der: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'rich test' }], { keySize: bits, algorithm: 'sha256' });
  return { der: new X509Certificate(pems.cert).raw.toString('base64'), key: pems.private };
}

/** What a subscriber does with `encryptedContent`, written out from Microsoft's description. */
function decrypt(content: Record<string, string>, privateKeyPem: string): Record<string, unknown> {
  const key = privateDecrypt(
    { key: privateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    Buffer.from(content.dataKey!, 'base64'),
  );
  const data = Buffer.from(content.data!, 'base64');
  expect(createHmac('sha256', key).update(data).digest('base64')).toBe(content.dataSignature);
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  return JSON.parse(Buffer.concat([decipher.update(data), decipher.final()]).toString()) as Record<string, unknown>;
}

describe('rich notifications (includeResourceData)', () => {
  let sim: GraphSim;
  let token: string;
  let receiver: Receiver;
  let user: string;
  let cert: { der: string; key: string };
  beforeAll(async () => {
    sim = await startSim();
    token = await getToken(sim);
    receiver = await Receiver.start();
    user = sim.defaults.users[0]!.id;
    cert = await certificate();
  });
  afterAll(async () => {
    await receiver.stop();
    await sim.stop();
  });

  const create = (over: Record<string, unknown>) =>
    call(sim, 'POST', '/v1.0/subscriptions', {
      token,
      headers: { Prefer: 'IdType="ImmutableId"' },
      json: {
        changeType: 'created,updated,deleted',
        notificationUrl: receiver.url,
        resource: `/users/${user}/events?$select=subject,start,end`,
        expirationDateTime: futureIso(1_000, sim),
        clientState: 'rich-secret',
        includeResourceData: true,
        encryptionCertificate: cert.der,
        encryptionCertificateId: 'cert-1',
        ...over,
      },
    });

  it.each([
    ['a lifetime over 1,440 minutes', { expirationDateTime: 'LONG' }, /1440 minutes/],
    [
      'no certificate',
      { encryptionCertificate: undefined },
      /encryptionCertificate and encryptionCertificateId are required/,
    ],
    ['a certificate that is not X.509', { encryptionCertificate: 'bm90IGEgY2VydA==' }, /not a valid X.509/],
    ['an id over 128 characters', { encryptionCertificateId: 'x'.repeat(129) }, /1 to 128 characters/],
    ['no $select', { resource: `/users/USER/events` }, /needs a \$select/],
    ['Body in $select', { resource: `/users/USER/events?$select=subject,body` }, /\$select=body is not supported/],
    [
      'an unknown property',
      { resource: `/users/USER/events?$select=subject,colour` },
      /Could not find a property named 'colour'/,
    ],
    ['$top', { resource: `/users/USER/events?$select=subject&$top=5` }, /\$top is not supported/],
    ['a directory resource', { resource: '/users' }, /not supported for '\/users'/],
  ])('refuses %s', async (_name, over, message) => {
    const body = Object.fromEntries(
      Object.entries(over).map(([k, v]) => [
        k,
        v === 'LONG' ? futureIso(1_441, sim) : typeof v === 'string' ? v.replace('USER', user) : v,
      ]),
    );
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
  });

  it('refuses an RSA key under 2,048 bits', async () => {
    const small = await certificate(1024);
    const res = await create({ encryptionCertificate: small.der });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/2048 to 4096 bits/);
  });

  it('delivers the selected properties encrypted for the certificate, with a validation token per tenant', async () => {
    const res = await create({});
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ includeResourceData: true, encryptionCertificateId: 'cert-1' });
    const before = receiver.posts().length;
    const e = sim.createEvent(user, { subject: 'Board meeting', body: 'secret agenda', location: 'HQ' });
    await sim.settled();
    const post = await waitFor('a rich POST', () =>
      receiver
        .posts()
        .slice(before)
        .find((p) => p.body.validationTokens),
    );
    const n = (post.body.value as Array<Record<string, unknown>>).find((x) => x.subscriptionId === res.body.id)!;
    const content = n.encryptedContent as Record<string, string>;
    expect(content).toMatchObject({ encryptionCertificateId: 'cert-1' });
    const resource = decrypt(content, cert.key);
    // Only what the subscription selected (and the ids Graph always sends): no body, no location.
    expect(resource).toEqual({
      '@odata.type': '#Microsoft.Graph.Event',
      '@odata.id': `Users/${user}/Events/${e.immutableId}`,
      '@odata.etag': `W/"${e.changeKey}"`,
      id: e.immutableId,
      subject: 'Board meeting',
      start: e.event.start,
      end: e.event.end,
    });
    const [jwt] = post.body.validationTokens as string[];
    expect(decodeJwt(jwt!)).toMatchObject({
      aud: sim.defaults.clientId,
      azp: CHANGE_TRACKING_APP_ID,
      tid: sim.defaults.tenantId,
      iss: `${sim.urls.authority}/${sim.defaults.tenantId}/v2.0`,
      ver: '2.0',
    });
    // The key that signs it is published where Microsoft publishes its own.
    const keys = await call(sim, 'GET', '/common/discovery/v2.0/keys');
    expect((keys.body.keys as Array<{ kid: string }>).map((k) => k.kid)).toContain(
      JSON.parse(Buffer.from(jwt!.split('.')[0]!, 'base64url').toString()).kid,
    );

    // A delete carries no data: the item is gone.
    sim.deleteEvent(user, e.id);
    await sim.settled();
    const deleted = receiver
      .notifications()
      .find((x) => x.changeType === 'deleted' && x.subscriptionId === res.body.id);
    expect(deleted).toBeDefined();
    expect(deleted).not.toHaveProperty('encryptedContent');
  });

  it('renews with a new certificate (a rotation): later notifications are encrypted for it', async () => {
    const res = await create({ resource: `/users/${sim.defaults.users[1]!.id}/events?$select=subject` });
    expect(res.status).toBe(201);
    const next = await certificate();
    const patch = await call(sim, 'PATCH', `/v1.0/subscriptions/${res.body.id}`, {
      token,
      json: {
        expirationDateTime: futureIso(1_400, sim),
        encryptionCertificate: next.der,
        encryptionCertificateId: 'cert-2',
      },
    });
    expect(patch.status).toBe(200);
    expect(patch.body.encryptionCertificateId).toBe('cert-2');
    sim.createEvent(sim.defaults.users[1]!.id, { subject: 'after the rotation' });
    await sim.settled();
    const n = receiver.notifications().find((x) => x.subscriptionId === res.body.id && x.encryptedContent);
    expect(n.encryptedContent.encryptionCertificateId).toBe('cert-2');
    expect(decrypt(n.encryptedContent as Record<string, string>, next.key)).toMatchObject({
      subject: 'after the rotation',
    });
    const bad = await call(sim, 'PATCH', `/v1.0/subscriptions/${res.body.id}`, {
      token,
      json: { encryptionCertificate: 'bm9wZQ==', encryptionCertificateId: 'cert-3' },
    });
    expect(bad.status).toBe(400);
  });
});
