import { spawn } from 'node:child_process';
import path from 'node:path';
import { Collection, FileDocumentStore, subscriptionCollection } from '@graph2kafka/core';
import { deliveryWindowMs, GraphSim, resolveOptions } from '@graph2kafka/graph-sim';
import {
  awaitHandshake,
  buildAndInstallBundle,
  shippedSourceMaps,
  createSubscription,
  describeBundle,
  freePort,
  HANDSHAKE_WAIT_MS,
  pipelineEnv,
  READ_TIMEOUT_MS,
  READER_START_MS,
  stopChild,
  TopicReader,
  type InstalledBundle,
  type PipelineEnv,
} from '@graph2kafka/testkit';

/** functions-framework as Cloud Functions runs it: the bundle folder's own copy, started from that folder. */
function startFramework(bundle: InstalledBundle, target: string, port: number, env: Record<string, string>) {
  const cli = path.join(bundle.dir, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
  const output: string[] = [];
  // No NODE_OPTIONS from the test runner: the bundle must run without the source export condition.
  const { NODE_OPTIONS: _ignored, ...base } = process.env;
  const child = spawn(process.execPath, [cli, `--target=${target}`, `--port=${port}`], {
    cwd: bundle.dir,
    env: { ...base, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
  return { child, output };
}

const SIM_OPTIONS = { delivery: { batchWindowMs: 20 } };
/** A notification answered 202 at its first attempt, which these tests expect: graph-sim's 3 s, as Graph's. */
const FIRST_ATTEMPT_MS = deliveryWindowMs(resolveOptions(SIM_OPTIONS).delivery, 1, 0);
/** A subscription's creation: graph-sim's handshake with the function (10 s at most, as Graph's). */
const SUBSCRIBE_MS = resolveOptions().subscriptions.handshakeTimeoutMs;

describe('GCP deploy bundle, from its own folder after a clean production install', () => {
  let bundle: InstalledBundle;
  let sim: GraphSim;
  let setup: PipelineEnv;
  let fn: ReturnType<typeof startFramework>;
  let url: string;
  let coldStartMs: number;

  beforeAll(async () => {
    bundle = await buildAndInstallBundle('gcp');
    sim = await GraphSim.start(SIM_OPTIONS);
    setup = pipelineEnv(sim);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    const began = Date.now();
    fn = startFramework(bundle, 'graphNotifications', port, setup.env);
    await awaitHandshake(url).catch((err: unknown) => {
      throw new Error(`the bundle did not answer: ${String(err)}\n${fn.output.join('')}`);
    });
    coldStartMs = Date.now() - began;
    console.log(describeBundle('GCP', bundle, coldStartMs));
  }, 180_000);
  afterAll(async () => {
    if (fn) await stopChild(fn.child);
    await sim?.stop();
    setup?.remove();
    bundle?.remove();
  });

  it('is a Cloud Functions source folder: package.json main, Node 22 or 24, pinned runtime dependencies, no sources', async () => {
    const { readFile, readdir } = await import('node:fs/promises');
    const manifest = JSON.parse(await readFile(path.join(bundle.dir, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ main: 'dist/index.js', type: 'module', engines: { node: '>=22 <25' } });
    expect(Object.keys(manifest.dependencies).sort()).toEqual([
      '@google-cloud/functions-framework',
      '@google-cloud/secret-manager',
      '@platformatic/kafka',
      'google-auth-library',
    ]);
    for (const version of Object.values(manifest.dependencies)) expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    const files = await readdir(bundle.dir, { recursive: true });
    expect(files.filter((f) => String(f).endsWith('.ts') && !String(f).includes('node_modules'))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['package-lock.json', '.gcloudignore']));
  });

  it('ships its source maps and turns them on: a stack trace from the bundle names our TypeScript', async () => {
    const shipped = await shippedSourceMaps(bundle, '.gcloudignore');
    // What the deploy uploads: the ignore file must leave the .map files in.
    expect(shipped).toMatchObject({ ignored: false, maps: expect.any(Number) });
    expect(shipped.maps).toBeGreaterThan(0);
    const { stack } = shipped;
    expect(stack).toMatch(/KAFKA_BROKERS/);
    expect(stack).toMatch(/\n {4}at .*\(graph2kafka:\/\/\/packages\/core\/src\/config\/[\w/-]+\.ts:\d+:\d+\)/);
  });

  it('answers the handshake with the decoded token as text/plain', async () => {
    const res = await fetch(`${url}?validationToken=${encodeURIComponent('a+b/c=d%e')}`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('a+b/c=d%e');
  });

  it('bounds bodies before functions-framework parses them, as deployed (main.js loading the bundle)', async () => {
    // Declared too large: refused before a byte is read. Compressed: refused, never inflated.
    const big = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: `{"value":[${'['.repeat(1_500_000)}${']'.repeat(1_500_000)}]}`,
    });
    expect(big.status).toBe(413);
    const gz = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: new Uint8Array([0x1f, 0x8b, 0x08, 0x00]),
    });
    expect(gz.status).toBe(415);
  });

  it(
    'takes a notification from graph-sim and produces the enriched event to Kafka',
    async () => {
      const user = sim.defaults.users[0]!.id;
      const store = new Collection(
        new FileDocumentStore(setup.env.G2K_STATE_STORE!.slice('file:'.length)),
        subscriptionCollection,
      );
      const sub = await createSubscription(sim, store, { userId: user, notificationUrl: url });
      const reader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), setup.topic);
      try {
        const created = sim.createEvent(user, { subject: 'Deployed from the bundle' });
        await sim.settled(FIRST_ATTEMPT_MS);
        const [record] = await reader.waitFor(1);
        expect(record!.key).toBe(`${sim.defaults.tenantId}/${user}/${created.immutableId}`);
        expect(record!.headers).toMatchObject({ 'g2k-subscription-id': sub.id, 'g2k-enriched': 'true' });
        expect(JSON.parse(record!.value!).event.subject).toBe('Deployed from the bundle');
        const attempts = sim.records.attempts.all().filter((a) => a.kind !== 'handshake');
        expect(attempts.map((a) => a.status)).toEqual([202]);
      } finally {
        await reader.stop();
      }
    },
    SUBSCRIBE_MS + READER_START_MS + FIRST_ATTEMPT_MS + READ_TIMEOUT_MS,
  );

  it(
    'produces through @platformatic/kafka from the bundle too (KAFKA_CLIENT=platformatic)',
    async () => {
      const port = await freePort();
      const otherUrl = `http://127.0.0.1:${port}/`;
      const other = startFramework(bundle, 'graphNotifications', port, { ...setup.env, KAFKA_CLIENT: 'platformatic' });
      const reader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), setup.topic);
      try {
        await awaitHandshake(otherUrl);
        const user = sim.defaults.users[1]!.id;
        const store = new Collection(
          new FileDocumentStore(setup.env.G2K_STATE_STORE!.slice('file:'.length)),
          subscriptionCollection,
        );
        await createSubscription(sim, store, { userId: user, notificationUrl: otherUrl });
        sim.createEvent(user, { subject: 'Produced by platformatic' });
        await sim.settled(FIRST_ATTEMPT_MS);
        const record = await reader.waitForMatch((r) => r.value?.includes('Produced by platformatic') ?? false);
        expect(record.headers['g2k-enriched']).toBe('true');
        const attempts = sim.records.attempts.all().filter((a) => a.kind === 'change' && a.url === otherUrl);
        expect(attempts.map((a) => a.status)).toEqual([202]);
      } catch (err) {
        throw new Error(`${String(err)}\n${other.output.join('')}`, { cause: err });
      } finally {
        await reader.stop();
        await stopChild(other.child);
      }
    },
    READER_START_MS + HANDSHAKE_WAIT_MS + SUBSCRIBE_MS + FIRST_ATTEMPT_MS + READ_TIMEOUT_MS,
  );
});
