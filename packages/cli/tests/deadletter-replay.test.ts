import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAppFromEnv, KafkaRecordSink, silentLogger, type Graph2Kafka } from '@graph2kafka/core';
import { FABRIKAM_TENANT_ID, GraphSim } from '@graph2kafka/graph-sim';
import { brokersFromEnv } from '@graph2kafka/kafka-local';
import { freePort, pipelineEnv, TopicReader, type PipelineEnv } from '@graph2kafka/testkit';
import { serveApp } from '@graph2kafka/core/http';
import { graph2kafka } from './run-cli.ts';

/** What only the forged letters' items hold: found in any record or topic, a forged letter was replayed. */
const SECRET = 'not-for-kafka';
const KEY = 'test-only-dead-letter-key-0123456789abcdef';

/**
 * Whoever can write to the dead-letter topic can write letters; a replay must not read or produce anything for a
 * target graph2kafka does not subscribe to now, whatever a letter names — while genuine letters beside them are
 * still replayed.
 */
describe('graph2kafka deadletter replay: letters are re-verified against the subscriptions', () => {
  let sim: GraphSim;
  let app: Graph2Kafka;
  let pipe: PipelineEnv;
  let env: Record<string, string>;
  let close: () => Promise<void>;
  let adele: string;
  let alex: string;
  let megan: string;
  beforeAll(async () => {
    sim = await GraphSim.start();
    const port = await freePort();
    [adele, alex] = sim.defaults.users.map((u) => u.id) as [string, string];
    megan = sim.directory.listUsers(FABRIKAM_TENANT_ID)[0]!.id;
    const desired = path.join(mkdtempSync(path.join(tmpdir(), 'g2k-desired-')), 'subscriptions.json');
    writeFileSync(
      desired,
      JSON.stringify({
        subscriptions: [
          { kind: 'events', users: [adele] },
          { kind: 'messages', users: [adele], folders: ['inbox'] },
          { tenant: FABRIKAM_TENANT_ID, kind: 'contacts', users: [megan] },
        ],
      }),
    );
    pipe = pipelineEnv(sim, {
      G2K_NOTIFICATION_URL: `http://127.0.0.1:${port}/notifications`,
      G2K_LIFECYCLE_URL: `http://127.0.0.1:${port}/lifecycle`,
      G2K_SUBSCRIPTIONS_FILE: desired,
      G2K_SNAPSHOT: '0',
      // Above the broker's own limit (1 MiB): what the broker refuses reaches the dead-letter topic.
      G2K_MAX_RECORD_BYTES: '5000000',
      G2K_DEAD_LETTER_KEY: KEY,
    });
    env = pipe.env;
    app = await createAppFromEnv(env, [], { logger: silentLogger });
    close = (await serveApp(app, port)).close;
  });
  afterAll(async () => {
    await close();
    await app.close();
    await sim.stop();
  });

  it('replays the genuine letter and refuses forged ones: nothing read from Graph for them, nothing produced', async () => {
    expect((await graph2kafka(['subscriptions', 'create'], env)).stdout).toMatch(/created 3,/);
    // The genuine letter: an event the broker refuses, dead-lettered by the receiver.
    const big = sim.createEvent(adele, { subject: 'too big', body: 'z'.repeat(1_500_000) });
    await sim.settled();
    const letters = await TopicReader.start(brokersFromEnv(), pipe.deadLetterTopic);
    const [genuine] = await letters.waitFor(1).finally(() => letters.stop());
    expect(genuine!.headers['g2k-signature']).toMatch(/^hmac-sha256=[A-Za-z0-9_-]{43}$/);
    const template = JSON.parse(genuine!.value!) as Record<string, unknown>;

    // Items the forged letters point at, each in a place graph2kafka does not subscribe to.
    const alexEvent = sim.createEvent(alex, { subject: SECRET, body: SECRET });
    const archived = sim.createItem('messages', adele, { subject: SECRET, body: SECRET }, 'archive');
    const meganEvent = sim.createEvent(megan, { subject: SECRET, body: SECRET });
    const adeleEvent = sim.createEvent(adele, { subject: 'in scope', body: 'visible' });
    await sim.settled();
    const forge = (over: Record<string, unknown>) => {
      const { folderId: _folder, eventId: _event, ...rest } = template;
      const value = { ...rest, reason: 'refused_by_kafka', notification: null, ...over };
      return { key: 'forged', value: JSON.stringify(value), headers: {} };
    };
    const contoso = sim.defaults.tenantId;
    const forged = {
      unsubscribedUser: forge({ tenantId: contoso, kind: 'events', userId: alex, itemId: alexEvent.immutableId }),
      otherFolder: forge({
        tenantId: contoso,
        kind: 'messages',
        userId: adele,
        folderId: archived.folderId,
        itemId: archived.immutableId,
      }),
      wholeMailbox: forge({ tenantId: contoso, kind: 'messages', userId: adele, itemId: archived.immutableId }),
      // Fabrikam is a tenant graph2kafka serves (its contacts), but not for events.
      otherTenant: forge({
        tenantId: FABRIKAM_TENANT_ID,
        kind: 'events',
        userId: megan,
        itemId: meganEvent.immutableId,
      }),
      // Adele is subscribed in Contoso; the letter says Fabrikam.
      mailboxInOtherTenant: forge({ tenantId: FABRIKAM_TENANT_ID, kind: 'events', userId: adele, itemId: 'AAMk' }),
      tenantNotAllowed: forge({
        tenantId: '11111111-2222-3333-4444-555555555555',
        kind: 'events',
        userId: adele,
        itemId: 'AAMk',
      }),
      badItem: forge({ tenantId: contoso, kind: 'events', userId: adele, itemId: `x/../../../users/${alex}/events` }),
      notALetter: { key: 'forged', value: '{"hello":', headers: {} },
    };
    const sink = new KafkaRecordSink(app.config.kafka, silentLogger);
    try {
      await sink.send(pipe.deadLetterTopic, Object.values(forged), 10_000);
      // An unsigned letter for a subscribed target passes the re-verification: it only makes graph2kafka read an
      // item it replicates anyway.
      await sink.send(
        pipe.deadLetterTopic,
        [forge({ tenantId: contoso, kind: 'events', userId: adele, itemId: adeleEvent.immutableId })],
        10_000,
      );
    } finally {
      await sink.close();
    }

    const readsOf = (id: string) =>
      sim.records.requests.all().filter((r) => r.path.toLowerCase().includes(id.toLowerCase())).length;
    const before = {
      alex: readsOf(alex),
      archived: readsOf(archived.immutableId),
      megan: readsOf(megan),
      meganEvent: readsOf(meganEvent.immutableId),
      fabrikam: sim.records.requests.all().filter((r) => r.tenantId === FABRIKAM_TENANT_ID).length,
    };
    const events = await TopicReader.start(brokersFromEnv(), pipe.topic);
    const messages = await TopicReader.start(brokersFromEnv(), pipe.topics.messages);
    try {
      const fixed = { ...env, G2K_MAX_RECORD_BYTES: '1000000' };
      const replayed = await graph2kafka(['deadletter', 'replay'], fixed);
      // Nothing was read for the forged letters …
      expect(readsOf(alex)).toBe(before.alex);
      expect(readsOf(archived.immutableId)).toBe(before.archived);
      expect(readsOf(megan)).toBe(before.megan);
      expect(readsOf(meganEvent.immutableId)).toBe(before.meganEvent);
      expect(sim.records.requests.all().filter((r) => r.tenantId === FABRIKAM_TENANT_ID)).toHaveLength(before.fabrikam);
      expect(replayed.stdout).toMatch(/replayed 2, dead-lettered again 0, refused 8/);
      // Refusals need the operator's attention: exit 1, each named on stderr with its reason and what to do.
      expect(replayed.code).toBe(1);
      const refusals = replayed.stderr.trim().split('\n');
      expect(refusals).toHaveLength(8);
      const reasons = refusals.map((l) => /^refused dead letter \d+:\d+ \(([a-z_]+)\): /.exec(l)?.[1]);
      expect(reasons).toEqual([
        'not_subscribed',
        'folder_not_subscribed',
        'folder_not_subscribed',
        'not_subscribed',
        'not_subscribed',
        'tenant_not_allowed',
        'invalid_item',
        'malformed',
      ]);
      expect(refusals[0]).toContain(`mailbox ${alex} in tenant ${contoso}`);
      expect(refusals[0]).toMatch(/nothing was read — if it should be replicated, add it to the desired state/);
      expect(refusals[1]).toContain(`only in folder(s) inbox, not folder ${archived.folderId}`);
      expect(refusals[2]).toContain('only in folder(s) inbox, not the whole mailbox');
      expect(refusals[3]).toContain(
        `no subscription to the events of mailbox ${megan} in tenant ${FABRIKAM_TENANT_ID}`,
      );
      expect(refusals[5]).toContain('G2K_ALLOWED_TENANTS');

      // … while the genuine letter and the in-scope one were read and produced (beside the in-scope event's own
      // notification record, the only other record of these topics).
      await events.waitFor(3);
      await events.readToEnd();
      await messages.readToEnd();
      const repaired = events.records.filter((r) => r.headers['g2k-source'] === 'repair');
      expect(repaired.map((r) => r.key).sort()).toEqual(
        [`${contoso}/${adele}/${big.immutableId}`, `${contoso}/${adele}/${adeleEvent.immutableId}`].sort(),
      );
      expect(events.records).toHaveLength(3);
      expect(messages.records).toEqual([]);
      expect(events.records.filter((r) => r.value?.includes(SECRET))).toEqual([]);

      // Refused letters are passed for good: a second replay has nothing left, and list still shows them all.
      const again = await graph2kafka(['deadletter', 'replay'], fixed);
      expect(again).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(/replayed 0, dead-lettered again 0, refused 0/),
      });
      expect((await graph2kafka(['deadletter', 'list'], fixed)).stdout.trim().split('\n')).toHaveLength(9);
    } finally {
      await events.stop();
      await messages.stop();
    }
  }, 120_000);

  it('refuses letters signed by none of the keys, and unsigned ones with --signed-only; stops, losing nothing, without the key', async () => {
    const big = sim.createEvent(adele, { subject: 'too big again', body: 'y'.repeat(1_500_000) });
    await sim.settled();
    // The topic holds the letters the test before forged itself (not JSON, foreign): not ours to validate.
    const letters = await TopicReader.start(brokersFromEnv(), pipe.deadLetterTopic, { validate: false });
    const genuine = await letters
      .waitForMatch((r) => r.value?.includes(big.immutableId) === true)
      .finally(() => letters.stop());
    const signature = genuine.headers['g2k-signature']!;
    const alexEvent = sim.createEvent(alex, { subject: SECRET, body: SECRET });
    const adeleEvent = sim.createEvent(adele, { subject: 'in scope', body: 'visible' });
    await sim.settled();
    const value = JSON.parse(genuine.value!) as Record<string, unknown>;
    // The genuine letter's key: every letter of this test in one partition, in the order written.
    const letter = (over: Record<string, unknown>, headers: Record<string, string>) => ({
      key: genuine.key!,
      value: JSON.stringify({ ...value, eventId: undefined, ...over }),
      headers,
    });
    const sink = new KafkaRecordSink(app.config.kafka, silentLogger);
    try {
      await sink.send(
        pipe.deadLetterTopic,
        [
          // The genuine letter's signature on a letter changed to name another mailbox.
          letter({ userId: alex, itemId: alexEvent.immutableId }, { 'g2k-signature': signature }),
          // A made-up signature on a letter for a subscribed mailbox.
          letter({ itemId: adeleEvent.immutableId }, { 'g2k-signature': `hmac-sha256=${'A'.repeat(43)}` }),
          // No signature at all, for a subscribed mailbox: an older version's letter, or a forgery.
          letter({ itemId: adeleEvent.immutableId }, {}),
        ],
        10_000,
      );
    } finally {
      await sink.close();
    }

    const fixed = { ...env, G2K_MAX_RECORD_BYTES: '1000000' };
    // Without the key a signed letter cannot be told from a forged one: the replay stops before it, commits nothing.
    // An empty setting is an unset one (the test's process environment stays out of it).
    const keyless = { ...fixed, G2K_DEAD_LETTER_KEY: '' };
    const stopped = await graph2kafka(['deadletter', 'replay'], keyless);
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toMatch(
      /replayed 0, dead-lettered again 0, refused 0, stopped at \d+:\d+ \(the letter is signed, but G2K_DEAD_LETTER_KEY is not set/,
    );
    expect(await graph2kafka(['deadletter', 'replay', '--signed-only'], keyless)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--signed-only needs G2K_DEAD_LETTER_KEY/),
    });

    const readsOfAlex = () => sim.records.requests.all().filter((r) => r.path.toLowerCase().includes(alex)).length;
    const alexReads = readsOfAlex();
    const events = await TopicReader.start(brokersFromEnv(), pipe.topic);
    try {
      await events.readToEnd();
      const before = events.records.length;
      const replayed = await graph2kafka(['deadletter', 'replay', '--signed-only'], fixed);
      expect(readsOfAlex()).toBe(alexReads);
      expect(replayed.stdout).toMatch(/replayed 1, dead-lettered again 0, refused 3/);
      expect(replayed.code).toBe(1);
      const refusals = replayed.stderr.trim().split('\n');
      expect(refusals.map((l) => /\(([a-z_]+)\)/.exec(l)?.[1])).toEqual(['bad_signature', 'bad_signature', 'unsigned']);
      expect(refusals[0]).toMatch(/G2K_DEAD_LETTER_PREVIOUS_KEY/);
      expect(refusals[2]).toMatch(/replay without --signed-only/);
      // Only the genuine letter's event was produced.
      await events.waitFor(before + 1);
      await events.readToEnd();
      expect(events.records.slice(before).map((r) => [r.key, r.headers['g2k-source']])).toEqual([
        [`${sim.defaults.tenantId}/${adele}/${big.immutableId}`, 'repair'],
      ]);
    } finally {
      await events.stop();
    }
  }, 120_000);
});
