import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Collection, FileDocumentStore, subscriptionCollection } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import {
  awaitHandshake,
  buildAndInstallBundle,
  shippedSourceMaps,
  createSubscription,
  describeBundle,
  freePort,
  pipelineEnv,
  stopChild,
  TopicReader,
  type InstalledBundle,
  type PipelineEnv,
} from '@graph2kafka/testkit';

interface Registered {
  name: string;
  type: string;
  route?: string;
  methods?: string[];
  schedule?: string;
  authLevel?: string;
}

/** Puts the host stand-in (tests/bundle-host) beside the installed bundle: host.mjs and @azure/functions-core. */
async function addHost(bundle: InstalledBundle): Promise<void> {
  const from = path.join(__dirname, 'bundle-host');
  await cp(path.join(from, 'host.mjs'), path.join(bundle.dir, 'host.mjs'));
  const core = path.join(bundle.dir, 'node_modules', '@azure', 'functions-core');
  await mkdir(core, { recursive: true });
  await cp(path.join(from, 'functions-core.cjs'), path.join(core, 'index.js'));
  await writeFile(path.join(core, 'package.json'), JSON.stringify({ name: '@azure/functions-core', main: 'index.js' }));
}

function startHost(bundle: InstalledBundle, port: number, env: Record<string, string>) {
  const output: string[] = [];
  const { NODE_OPTIONS: _ignored, ...base } = process.env;
  const child = spawn(process.execPath, ['host.mjs', String(port)], {
    cwd: bundle.dir,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const registered = new Promise<{ functions: Registered[]; loadMs: number }>((resolve, reject) => {
    child.stdout.once('data', (c: Buffer) => resolve(JSON.parse(c.toString())));
    child.once('exit', (code) => reject(new Error(`host exited with ${code}: ${output.join('')}`)));
  });
  child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
  return { child, output, registered };
}

describe('Azure deploy bundle, from its own folder after a clean production install', () => {
  let bundle: InstalledBundle;
  let sim: GraphSim;
  let setup: PipelineEnv;
  let host: ReturnType<typeof startHost>;
  let base: string;
  let functions: Registered[];

  beforeAll(async () => {
    bundle = await buildAndInstallBundle('azure');
    await addHost(bundle);
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    setup = pipelineEnv(sim, { G2K_RENEWAL_SCHEDULE: '0 */30 * * * *' });
    const port = await freePort();
    base = `http://127.0.0.1:${port}/api`;
    const began = Date.now();
    host = startHost(bundle, port, setup.env);
    ({ functions } = await host.registered);
    await awaitHandshake(`${base}/notifications`);
    console.log(describeBundle('Azure', bundle, Date.now() - began));
  }, 180_000);
  afterAll(async () => {
    if (host) await stopChild(host.child);
    await sim?.stop();
    setup?.remove();
    bundle?.remove();
  });

  it('is a Functions app folder: host.json, package.json main, Node 22 or 24, only @azure/functions to install', async () => {
    const manifest = JSON.parse(await readFile(path.join(bundle.dir, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ main: 'dist/index.js', type: 'module', engines: { node: '>=22 <25' } });
    expect(Object.keys(manifest.dependencies)).toEqual(['@azure/functions', '@platformatic/kafka']);
    const hostJson = JSON.parse(await readFile(path.join(bundle.dir, 'host.json'), 'utf8'));
    expect(hostJson.version).toBe('2.0');
    const files = (await readdir(bundle.dir)).sort();
    expect(files).toEqual(expect.arrayContaining(['.funcignore', 'dist', 'host.json', 'package-lock.json']));
  });

  it('ships its source maps and turns them on: a stack trace from the bundle names our TypeScript', async () => {
    const shipped = await shippedSourceMaps(bundle, '.funcignore');
    // What the deploy uploads: the ignore file must leave the .map files in.
    expect(shipped).toMatchObject({ ignored: false, maps: expect.any(Number) });
    expect(shipped.maps).toBeGreaterThan(0);
    const { stack } = shipped;
    expect(stack).toMatch(/KAFKA_BROKERS/);
    expect(stack).toMatch(/\n {4}at .*\(graph2kafka:\/\/\/packages\/core\/src\/config\/[\w/-]+\.ts:\d+:\d+\)/);
  });

  it('registers the three functions the host will run', () => {
    expect(functions).toEqual([
      expect.objectContaining({
        name: 'graphNotifications',
        type: 'httpTrigger',
        route: 'notifications',
        methods: ['POST'],
        authLevel: 'anonymous',
      }),
      expect.objectContaining({
        name: 'graphLifecycle',
        type: 'httpTrigger',
        route: 'lifecycle',
        methods: ['POST'],
        authLevel: 'anonymous',
      }),
      expect.objectContaining({
        name: 'subscriptionRenewal',
        type: 'timerTrigger',
        schedule: '%G2K_RENEWAL_SCHEDULE%',
      }),
    ]);
  });

  it('answers the handshake on both HTTP functions with the decoded token as text/plain', async () => {
    for (const route of ['notifications', 'lifecycle']) {
      const res = await fetch(`${base}/${route}?validationToken=${encodeURIComponent('x+y/z%')}`, { method: 'POST' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('x+y/z%');
    }
  });

  it('takes a notification from graph-sim and produces the enriched event to Kafka', async () => {
    const user = sim.defaults.users[1]!.id;
    const store = new Collection(
      new FileDocumentStore(setup.env.G2K_STATE_STORE!.slice('file:'.length)),
      subscriptionCollection,
    );
    const sub = await createSubscription(sim, store, {
      userId: user,
      notificationUrl: `${base}/notifications`,
      lifecycleNotificationUrl: `${base}/lifecycle`,
    });
    const reader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), setup.topic);
    try {
      const created = sim.createEvent(user, { subject: 'Azure bundle check' });
      await sim.settled();
      const [record] = await reader.waitFor(1);
      expect(record!.key).toBe(`${sim.defaults.tenantId}/${user}/${created.immutableId}`);
      expect(record!.headers).toMatchObject({ 'g2k-subscription-id': sub.id, 'g2k-enriched': 'true' });
      expect(JSON.parse(record!.value!).event.subject).toBe('Azure bundle check');
      const attempts = sim.records.attempts.all().filter((a) => a.kind !== 'handshake');
      expect(attempts.map((a) => a.status)).toEqual([202]);
    } catch (err) {
      throw new Error(`${String(err)}\nhost output:\n${host.output.join('')}`, { cause: err });
    } finally {
      await reader.stop();
    }
  });
});
