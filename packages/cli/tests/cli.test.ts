import path from 'node:path';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createAppFromEnv, loadConfig, silentLogger, type Graph2Kafka } from '@graph2kafka/core';
import { deliveryWindowMs, GraphSim, resolveOptions } from '@graph2kafka/graph-sim';
import { brokersFromEnv } from '@graph2kafka/kafka-local';
import { freePort, pipelineEnv, READ_TIMEOUT_MS, READER_START_MS, TopicReader } from '@graph2kafka/testkit';
import { serveApp } from '@graph2kafka/core/http';
import { CLI_RUN_MS, graph2kafka } from './run-cli.ts';

describe('graph2kafka subscriptions (ops CLI)', () => {
  let sim: GraphSim;
  let app: Graph2Kafka;
  let env: Record<string, string>;
  let removeEnv: () => void;
  let close: () => Promise<void>;
  /** Folders a test made for the files the CLI writes. */
  const scratch: string[] = [];
  beforeAll(async () => {
    sim = await GraphSim.start();
    const port = await freePort();
    ({ env, remove: removeEnv } = pipelineEnv(sim, {
      G2K_NOTIFICATION_URL: `http://127.0.0.1:${port}/notifications`,
      G2K_LIFECYCLE_URL: `http://127.0.0.1:${port}/lifecycle`,
      G2K_SUBSCRIBE_USERS: sim.defaults.users.map((u) => u.id).join(','),
      // Above the broker's own limit (1 MiB): what the broker refuses reaches the dead-letter topic.
      G2K_MAX_RECORD_BYTES: '5000000',
    }));
    // The functions' receiver, answering the handshakes of the subscriptions the CLI creates (same store).
    app = await createAppFromEnv(env, [], { logger: silentLogger });
    close = (await serveApp(app, port)).close;
  });
  afterAll(async () => {
    await close();
    await app.close();
    await sim.stop();
    removeEnv();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  it('creates, lists, renews and deletes, with exit code 0', async () => {
    const created = await graph2kafka(['subscriptions', 'create'], env);
    expect(created.stdout).toMatch(/created 2, renewed 0/);
    expect(created.code).toBe(0);
    expect(sim.subscriptions.all()).toHaveLength(2);

    const listed = await graph2kafka(['subscriptions', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toHaveLength(2);
    expect(listed.stdout).toMatch(/secret stored/);

    const renewed = await graph2kafka(['subscriptions', 'renew'], env);
    expect(renewed.stdout).toMatch(/renewed 2/);

    const resynced = await graph2kafka(['subscriptions', 'resync', '--user', sim.defaults.users[0]!.id], env);
    expect(resynced.code).toBe(0);
    expect(resynced.stdout).toMatch(/change\(s\) produced/);

    const deleted = await graph2kafka(['subscriptions', 'delete', '--all'], env);
    expect(deleted.stdout).toMatch(/deleted 2/);
    expect(sim.subscriptions.all()).toHaveLength(0);
  }, 60_000);

  it(
    'lists the dead-letter topic and replays it under today’s limits, once',
    async () => {
      expect((await graph2kafka(['subscriptions', 'create'], env)).code).toBe(0);
      const user = sim.defaults.users[0]!.id;
      const big = sim.createEvent(user, { subject: 'too big', body: 'z'.repeat(1_500_000) });
      // The first dead letter creates its topic: on a busy machine that can miss Graph's 3 s, and graph-sim
      // redelivers 10 s later, as Graph does.
      await sim.settled(sim.deliveryWindowMs(1));
      const deadLetters = await TopicReader.start(brokersFromEnv(), env.G2K_DEAD_LETTER_TOPIC!);
      await deadLetters.waitFor(1).finally(() => deadLetters.stop());

      const listed = await graph2kafka(['deadletter', 'list'], env);
      expect(listed.code).toBe(0);
      const letters = listed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { eventId: string; reason: string });
      expect(letters).toMatchObject([{ eventId: big.immutableId, reason: 'refused_by_kafka' }]);

      const events = await TopicReader.start(brokersFromEnv(), env.G2K_TOPIC!);
      try {
        // The operator sets the limit back under the broker's: the replay produces the event reduced.
        const fixed = { ...env, G2K_MAX_RECORD_BYTES: '1000000' };
        const replayed = await graph2kafka(['deadletter', 'replay'], fixed);
        expect(replayed.stdout).toMatch(/replayed 1, dead-lettered again 0/);
        expect(replayed.code).toBe(0);
        await events.waitFor(1);
        const repaired = events.records.find((r) => r.headers['g2k-source'] === 'repair')!;
        expect(repaired.key).toBe(`${sim.defaults.tenantId}/${user}/${big.immutableId}`);
        expect(JSON.parse(repaired.value!)).toMatchObject({ enriched: true, reducedProperties: ['body'] });
        // A second replay has nothing left to do; list still shows the letter.
        expect((await graph2kafka(['deadletter', 'replay'], fixed)).stdout).toMatch(/replayed 0/);
        expect((await graph2kafka(['deadletter', 'list'], fixed)).stdout.trim().split('\n')).toHaveLength(1);
      } finally {
        await events.stop();
      }
      expect(await graph2kafka(['repair'], env)).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(/repaired 0/),
      });
      await graph2kafka(['subscriptions', 'delete', '--all'], env);
      // Seven CLI commands, a delivery with one redelivery (graph-sim's default schedule), two readers.
    },
    7 * CLI_RUN_MS + deliveryWindowMs(resolveOptions().delivery, 1, 1) + 2 * (READER_START_MS + READ_TIMEOUT_MS),
  );

  it('exits 2 with usage for a bad command, and 2 naming the settings for a bad configuration', async () => {
    const bad = await graph2kafka(['subscriptions', 'frobnicate'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'frobnicate'/);
    const noId = await graph2kafka(['subscriptions', 'delete'], env);
    expect(noId.code).toBe(2);
    const unconfigured = await graph2kafka(['subscriptions', 'list'], {
      ...env,
      AZURE_CLIENT_ID: 'not-a-guid',
      KAFKA_BROKERS: '',
    });
    expect(unconfigured.code).toBe(2);
    expect(unconfigured.stderr).toMatch(/AZURE_CLIENT_ID must be the app's GUID/);
    expect(unconfigured.stderr).toMatch(/KAFKA_BROKERS is not set/);
  }, 60_000);

  it('cert create: the certificate to a file, the private key to standard output only; usable as G2K_RICH_*', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'g2k-cert-'));
    scratch.push(dir);
    const out = path.join(dir, 'rich.b64');
    const made = await graph2kafka(['cert', 'create', '--id', 'g2k-2026-12', '--certificate-out', out], {});
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(made.stderr).toMatch(/certificate g2k-2026-12 \(thumbprint [0-9A-F]{40}/);
    // Nothing but the certificate is written to disk.
    expect(readdirSync(dir)).toEqual(['rich.b64']);
    const certificate = readFileSync(out, 'utf8').trim();
    // The pair is what the functions accept: the configuration checks that the key is the certificate's.
    const config = await loadConfig({
      ...env,
      G2K_RICH_CERTIFICATE_ID: 'g2k-2026-12',
      G2K_RICH_CERTIFICATE: certificate,
      G2K_RICH_PRIVATE_KEY: made.stdout,
    });
    expect(config.rich?.current.id).toBe('g2k-2026-12');
    const other = await graph2kafka(
      ['cert', 'create', '--id', 'g2k-other', '--certificate-out', path.join(dir, 'o')],
      {},
    );
    await expect(
      loadConfig({
        ...env,
        G2K_RICH_CERTIFICATE_ID: 'g2k-2026-12',
        G2K_RICH_CERTIFICATE: certificate,
        G2K_RICH_PRIVATE_KEY: other.stdout,
      }),
    ).rejects.toThrow(/G2K_RICH_PRIVATE_KEY is not the key of G2K_RICH_CERTIFICATE/);
    const bad = await graph2kafka(['cert', 'create', '--id', 'has space', '--certificate-out', out], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/letters, digits/);
  }, 60_000);
});
