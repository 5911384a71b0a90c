import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createAppFromEnv, createEncryptionCertificate, KINDS, silentLogger } from '@graph2kafka/core';
import type { EncryptionCertificate } from '../src/rich/certificate.ts';
import { encryptResource, GraphSim } from '@graph2kafka/graph-sim';
import { recordValue as value, richEnv, TopicReader } from '@graph2kafka/testkit';
import { serveApp } from '@graph2kafka/core/http';
import { post, startPipeline, type Pipeline } from './served-pipeline.ts';

const SELECT = KINDS.events.rich!.defaultSelect.split(',');

/** The event as graph-sim holds it, restricted to what a rich subscription selects (and Graph's ids). */
const selected = (event: Record<string, unknown>, odataId: string): Record<string, unknown> => ({
  '@odata.type': '#Microsoft.Graph.Event',
  '@odata.id': odataId,
  '@odata.etag': event['@odata.etag'],
  id: event.id,
  ...Object.fromEntries(SELECT.map((p) => [p, event[p]])),
});

/** Rich notifications through the served app: the event inside the notification, no Graph read at all. */
describe('rich notifications end to end (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let userId: string;
  let tenantId: string;
  let first: EncryptionCertificate;
  let file: string;

  beforeAll(async () => {
    sim = await GraphSim.start({
      delivery: { batchWindowMs: 20, retryBaseDelayMs: 200, retryMaxDelayMs: 1_000 },
    });
    userId = sim.defaults.users[0]!.id;
    tenantId = sim.defaults.tenantId;
    first = await createEncryptionCertificate('g2k-rich-1');
    file = join(tmpdir(), `g2k-rich-${process.pid}-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ subscriptions: [{ kind: 'events', users: [userId], mode: 'rich' }] }));
    pipe = await startPipeline(sim, { G2K_SUBSCRIPTIONS_FILE: file, ...richEnv(sim, first) }, {}, { subscribe: true });
    expect(await pipe.app.manager!.reconcile()).toMatchObject({ errors: [], created: [expect.any(String)] });
  }, 60_000);

  afterAll(async () => {
    await pipe?.stop();
    await sim?.stop();
  });

  /**
   * Graph resource reads graph-sim served since `from` (items, $batch, delta): none in rich mode. Token and
   * key-set requests and the subscription API are not resource reads.
   */
  const resourceReads = (from: number): Array<[string, string]> =>
    sim.records.requests
      .all()
      .slice(from)
      .filter((r) => r.path.startsWith('/v1.0/') && !r.path.startsWith('/v1.0/subscriptions'))
      .map((r) => [r.method, r.path]);

  it('subscribes with resource data: the kind’s $select, the certificate, a lifetime within a day', () => {
    const [sub] = sim.subscriptions.all();
    expect(sub).toMatchObject({
      includeResourceData: true,
      encryptionCertificateId: 'g2k-rich-1',
      resource: `/users/${userId}/events?$select=${SELECT.join(',')}`,
    });
    expect(sub!.expirationMs - sim.clock.now()).toBeLessThanOrEqual(1_440 * 60_000);
  });

  it('records equal the event restricted to $select, from the notification, with 0 Graph reads; a rotation loses nothing', async () => {
    const reads = sim.records.requests.all().length;
    const made: Array<{ id: string; immutableId: string }> = [];
    const make = (subject: string) =>
      made.push(sim.createEvent(userId, { subject, body: 'not selected', location: 'Room 1' }));
    for (let i = 0; i < 5; i++) make(`before ${i}`);
    await sim.settled();
    // A rotation: the new certificate becomes current, the first stays accepted; the timer moves every subscription.
    const second = await createEncryptionCertificate('g2k-rich-2');
    const port = pipe.port;
    const env = {
      G2K_STATE_STORE: pipe.env.G2K_STATE_STORE!,
      G2K_TOPIC: pipe.topic,
      G2K_DEAD_LETTER_TOPIC: pipe.deadLetterTopic,
    };
    await pipe.stop();
    // Changes while no instance answers: Graph redelivers them to the new one.
    for (let i = 0; i < 3; i++) make(`during ${i}`);
    pipe = await startPipeline(
      sim,
      { G2K_SUBSCRIPTIONS_FILE: file, ...richEnv(sim, second, first), ...env },
      {},
      { subscribe: true, port },
    );
    await sim.settled(30_000);
    const report = await pipe.app.manager!.reconcile();
    expect(report).toMatchObject({ errors: [], created: [], recreated: [] });
    expect(report.renewed).toHaveLength(1);
    expect(sim.subscriptions.all()[0]!.encryptionCertificateId).toBe('g2k-rich-2');
    expect((await pipe.app.subscriptions.list()).find((r) => !r.pending)!.encryptionCertificateId).toBe('g2k-rich-2');
    for (let i = 0; i < 5; i++) make(`after ${i}`);
    await sim.settled(30_000);

    for (const e of made) {
      const record = await pipe.reader.waitForMatch((r) => r.key === `${tenantId}/${userId}/${e.immutableId}`);
      const v = value(record);
      expect(v).toMatchObject({
        source: 'notification',
        enriched: true,
        fromNotification: true,
        changeType: 'created',
      });
      expect(v.event).toEqual(
        selected(sim.eventJson(userId, e.immutableId), `Users/${userId}/Events/${e.immutableId}`),
      );
      expect(v.event).not.toHaveProperty('body');
    }
    expect(resourceReads(reads)).toEqual([]);
    // Nothing lost, nothing refused: every notification graph-sim sent was answered 2xx in the end.
    const sent = sim.notifications({ kind: 'change' });
    expect(sent.filter((n) => n.state !== 'delivered')).toEqual([]);
    expect(pipe.app.receiver.counters.rejected.rich_content_invalid).toBe(0);
    expect(pipe.app.receiver.counters.retryLater).toBe(0);
  }, 90_000);

  it('hostile input: tampered content, forged or foreign tokens, a replayed POST with a forged item — nothing forged, genuine items kept', async () => {
    const sub = (await pipe.app.subscriptions.list()).find((r) => !r.pending)!;
    const cert = sim.subscriptions.all()[0]!.encryptionCertificate!;
    const certId = sim.subscriptions.all()[0]!.encryptionCertificateId!;
    const genuine = sim.createEvent(userId, { subject: 'genuine' });
    await pipe.reader.waitForMatch((r) => r.key === `${tenantId}/${userId}/${genuine.immutableId}`);
    const resource = (id: string) => `Users/${userId}/Events/${id}`;
    // Anyone can encrypt for our public certificate: content is only as good as the token and clientState.
    const item = (id: string, subject: string, over: Record<string, unknown> = {}) => ({
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: sub.expirationDateTime,
      changeType: 'updated',
      resource: resource(id),
      resourceData: { id, '@odata.type': '#Microsoft.Graph.Event' },
      clientState: sub.clientState,
      tenantId,
      encryptedContent: encryptResource({ id, subject }, cert, certId),
      ...over,
    });
    const send = async (value: unknown[], validationTokens: unknown) => {
      const res = await post(pipe.url, JSON.stringify({ value, validationTokens }));
      return res.status;
    };
    const before = pipe.reader.records.length;
    const forgedSubject = 'FORGED';
    const token = await sim.validationToken(sim.defaults.clientId, tenantId);
    const tampered = item(genuine.immutableId, forgedSubject);
    const cases: Array<[string, unknown[], unknown]> = [
      ['no tokens', [item(genuine.immutableId, forgedSubject)], undefined],
      [
        'a token signed by another key',
        [item(genuine.immutableId, forgedSubject)],
        [
          await sim.validationToken(sim.defaults.clientId, tenantId, {
            key: (await import('node:crypto')).generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey as never,
          }),
        ],
      ],
      [
        'the wrong audience',
        [item(genuine.immutableId, forgedSubject)],
        [await sim.validationToken('00000000-0000-0000-0000-000000000009', tenantId)],
      ],
      [
        'the wrong publisher',
        [item(genuine.immutableId, forgedSubject)],
        [
          await sim.validationToken(sim.defaults.clientId, tenantId, {
            claims: { azp: '11111111-1111-4111-8111-111111111111' },
          }),
        ],
      ],
      [
        'an expired token',
        [item(genuine.immutableId, forgedSubject)],
        [await sim.validationToken(sim.defaults.clientId, tenantId, { expiredSecondsAgo: 7_200 })],
      ],
      [
        'a token for another tenant',
        [item(genuine.immutableId, forgedSubject)],
        [
          await sim.validationToken(
            sim.defaults.clientId,
            sim.directory.listUsers().find((u) => u.tenantId !== tenantId)!.tenantId,
          ),
        ],
      ],
      [
        'tampered data',
        [
          {
            ...tampered,
            encryptedContent: { ...tampered.encryptedContent, data: Buffer.from('x'.repeat(64)).toString('base64') },
          },
        ],
        [token],
      ],
      [
        'a blob of another item',
        [
          item(genuine.immutableId, forgedSubject, {
            encryptedContent: encryptResource({ id: 'AAMkOTHER=', subject: forgedSubject }, cert, certId),
          }),
        ],
        [await sim.validationToken(sim.defaults.clientId, tenantId)],
      ],
    ];
    for (const [name, value, tokens] of cases) {
      expect([name, await send(value, tokens)]).toEqual([name, 202]);
    }
    // A tampered item beside a genuine one in one POST: the genuine one is produced as sent, the other refused.
    const neighbour = sim.createEvent(userId, { subject: 'neighbour' });
    await pipe.reader.waitForMatch((r) => r.key === `${tenantId}/${userId}/${neighbour.immutableId}`);
    const honest = item(neighbour.immutableId, 'neighbour');
    const bent = item(genuine.immutableId, forgedSubject);
    bent.encryptedContent = { ...bent.encryptedContent, dataSignature: Buffer.alloc(32).toString('base64') };
    const rejectedBefore = pipe.app.receiver.counters.rejected.rich_content_invalid;
    expect(await send([honest, bent], [await sim.validationToken(sim.defaults.clientId, tenantId)])).toBe(202);
    const neighbours = await pipe.reader.waitForMatch(
      (r) =>
        r.key === `${tenantId}/${userId}/${neighbour.immutableId}` &&
        value(r).fromNotification === true &&
        pipe.reader.records.indexOf(r) >= before,
    );
    expect((value(neighbours).event as { subject: string }).subject).toBe('neighbour');
    expect(pipe.app.receiver.counters.rejected.rich_content_invalid).toBe(rejectedBefore + 1);
    // A genuine POST replayed with a forged item added: the token was seen already.
    const replayToken = await sim.validationToken(sim.defaults.clientId, tenantId);
    expect(await send([item(genuine.immutableId, 'genuine')], [replayToken])).toBe(202);
    expect(
      await send([item(genuine.immutableId, 'genuine'), item(genuine.immutableId, forgedSubject)], [replayToken]),
    ).toBe(202);
    // The same replay sent to another instance (sharing the state store): the token's use is known there too.
    const other = await createAppFromEnv(pipe.env, [], { logger: silentLogger });
    const otherServer = await serveApp(other);
    try {
      const replay = JSON.stringify({
        value: [item(genuine.immutableId, forgedSubject)],
        validationTokens: [replayToken],
      });
      expect((await post(otherServer.notificationUrl, replay)).status).toBe(202);
    } finally {
      await otherServer.close();
      await other.close();
    }
    await pipe.reader.readToEnd();
    const after = pipe.reader.records.slice(before);
    // Unproven items were read from Graph instead: the records hold the event as Graph has it, never the forgery.
    expect(after.filter((r) => r.value?.includes(forgedSubject))).toEqual([]);
    expect(after.filter((r) => r.key === `${tenantId}/${userId}/AAMkOTHER=`)).toEqual([]);
    expect(after.length).toBeGreaterThan(0);
    for (const r of after) expect(['genuine', 'neighbour']).toContain((value(r).event as { subject?: string }).subject);
    expect(pipe.app.receiver.counters.rejected.rich_content_invalid).toBeGreaterThanOrEqual(1);
    expect(pipe.app.receiver.counters.rejected.resource_mismatch).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe('rich notifications with richRead (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    const file = join(tmpdir(), `g2k-rich-read-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        subscriptions: [
          {
            kind: 'events',
            users: [sim.defaults.users[1]!.id],
            mode: 'rich',
            select: 'subject,start',
            richRead: 'body',
          },
          { kind: 'messages', users: [sim.defaults.users[1]!.id], folders: ['inbox'], mode: 'rich' },
          { kind: 'contacts', users: [sim.defaults.users[1]!.id], mode: 'rich' },
        ],
      }),
    );
    const cert = await createEncryptionCertificate('g2k-rich-read');
    pipe = await startPipeline(sim, { G2K_SUBSCRIPTIONS_FILE: file, ...richEnv(sim, cert) }, {}, { subscribe: true });
    const report = await pipe.app.manager!.reconcile();
    expect(report).toMatchObject({ errors: [] });
    expect(report.created).toHaveLength(3);
  }, 60_000);

  afterAll(async () => {
    await pipe?.stop();
    await sim?.stop();
  });

  it('reads only what Graph does not send (body) beside each item; the rest comes from the notification', async () => {
    const userId = sim.defaults.users[1]!.id;
    // Graph refuses body in a rich $select: the subscription selects the rest, and body is read.
    expect(sim.subscriptions.all().find((x) => x.kind === 'events')!.resource).toBe(
      `/users/${userId}/events?$select=subject,start`,
    );
    const reads = sim.records.requests.all().length;
    const e = sim.createEvent(userId, { subject: 'with agenda', body: '<p>the agenda</p>', location: 'not selected' });
    const record = await pipe.reader.waitForMatch(
      (r) => r.key === `${sim.defaults.tenantId}/${userId}/${e.immutableId}`,
    );
    expect(value(record)).toMatchObject({
      fromNotification: true,
      event: { id: e.immutableId, subject: 'with agenda', body: { contentType: 'html', content: '<p>the agenda</p>' } },
    });
    expect(value(record).event).not.toHaveProperty('location');
    const batched = sim.records.requests
      .all()
      .slice(reads)
      .filter((r) => r.batchId);
    expect(batched.map((r) => r.query)).toEqual([expect.stringContaining('select=body')]);
  }, 30_000);

  it('messages of a folder and contacts in rich mode: their kind’s $select from the notification, no read', async () => {
    const userId = sim.defaults.users[1]!.id;
    const brokers = pipe.env.KAFKA_BROKERS!.split(',');
    const messages = await TopicReader.start(brokers, pipe.topics.messages);
    const contacts = await TopicReader.start(brokers, pipe.topics.contacts);
    try {
      const reads = sim.records.requests.all().length;
      const m = sim.createItem('messages', userId, { subject: 'rich mail', body: 'not sent' }, 'inbox');
      const c = sim.createItem('contacts', userId, { givenName: 'Rich', surname: 'Contact' });
      const message = value(await messages.waitForMatch((r) => value(r).messageId === m.immutableId));
      expect(message).toMatchObject({
        fromNotification: true,
        message: { subject: 'rich mail', parentFolderId: m.folderId },
      });
      expect(message.message).not.toHaveProperty('body');
      const contact = value(await contacts.waitForMatch((r) => value(r).contactId === c.immutableId));
      expect(contact).toMatchObject({ fromNotification: true, contact: { givenName: 'Rich', surname: 'Contact' } });
      await sim.settled();
      expect(
        sim.records.requests
          .all()
          .slice(reads)
          .filter((r) => r.path.startsWith('/v1.0/')),
      ).toEqual([]);
    } finally {
      await messages.stop();
      await contacts.stop();
    }
  }, 30_000);
});
