// `pnpm bench`: graph-sim drives the GCP notification function — the deploy bundle, installed as Cloud
// Functions installs it, on a real functions-framework server in its own process — into real Kafka, and the
// same load drives a bare node:http baseline that answers 202 doing nothing. An empty functions-framework
// function is measured too, to tell the framework's cost from ours. Reports cold start, handshake rate,
// throughput, ack latency p50/p95/p99, Graph requests per notification and peak RSS; writes
// docs/benchmarks.json, docs/benchmarks.md and docs/benchmarks.svg.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { Pool } from 'undici';
import { FileSubscriptionStore } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { provideBroker, type ProvidedBroker } from '@graph2kafka/kafka-local';
import { createSubscription, freePort, graphSimEnv } from '@graph2kafka/testkit';
import { buildBundle } from '../build/bundle.ts';
import { barChart } from './chart.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    users: { type: 'string', default: '50' },
    'latency-ms': { type: 'string', default: '50' },
    'no-docs': { type: 'boolean', default: false },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const root = path.resolve(import.meta.dirname, '..', '..');
const log = (line: string): void => console.log(`[bench] ${line}`);
const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (n: number, digits = 1): number => Number(n.toFixed(digits));
const median = (values: number[]): number =>
  round(
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    ),
  );

interface Phase {
  target: string;
  postSize: number;
  notificationsPerSecond: number;
  posts: number;
  failedPosts: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  graphRequestsPerNotification: number;
}

interface BenchResults {
  date: string;
  command: string;
  machine: { cpus: number; cpuModel: string | undefined; memoryGiB: number; node: string; platform: string };
  bundle: { codeKiB: number; installMs: number };
  coldStartMs: { graph2kafka: number; emptyFunction: number; baseline: number };
  handshakesPerSecond: {
    graph2kafka: number;
    emptyFunction: number;
    baseline: number;
    ratio: number;
    ratioToEmptyFunction: number;
  };
  peakRssMb: { graph2kafka: number; emptyFunction: number; baseline: number };
  phases: Phase[];
}

interface Target {
  name: 'graph2kafka' | 'emptyFunction' | 'baseline';
  url: string;
  child: ChildProcess;
  coldStartMs: number;
}

/**
 * The GCP bundle as Cloud Functions gets it: built into a fresh folder and installed from its own lockfile,
 * with an empty functions-framework function beside it (same framework copy) as the framework's own baseline.
 */
async function installBundle(): Promise<{ dir: string; emptyDir: string; codeKiB: number; installMs: number }> {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'g2k-bench-bundle-')), 'app');
  const bundle = await buildBundle('gcp', dir);
  const began = performance.now();
  await promisify(execFile)('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
  const installMs = performance.now() - began;
  const emptyDir = path.join(dir, 'empty-function');
  mkdirSync(emptyDir);
  writeFileSync(path.join(emptyDir, 'package.json'), JSON.stringify({ main: 'index.js', type: 'module' }));
  writeFileSync(
    path.join(emptyDir, 'index.js'),
    "import { http } from '@google-cloud/functions-framework';\n" +
      "http('empty', (req, res) => { const t = req.query.validationToken; if (t) res.type('text/plain').send(String(t)); else res.status(202).end(); });\n",
  );
  return { dir, emptyDir, codeKiB: Math.round(bundle.codeBytes / 1024), installMs: Math.round(installMs) };
}

let installed: Awaited<ReturnType<typeof installBundle>> | undefined;

async function launch(name: Target['name'], env: Record<string, string>): Promise<Target> {
  const port = await freePort();
  const started = performance.now();
  let child: ChildProcess;
  if (name !== 'baseline') {
    const main = path.join(
      installed!.dir,
      'node_modules',
      '@google-cloud',
      'functions-framework',
      'build',
      'src',
      'main.js',
    );
    const [target, source] =
      name === 'graph2kafka' ? ['graphNotifications', installed!.dir] : ['empty', installed!.emptyDir];
    child = spawn(process.execPath, [main, `--target=${target}`, `--source=${source}`, `--port=${port}`], {
      env: { ...process.env, ...env, NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } else {
    child = spawn(process.execPath, [path.join(import.meta.dirname, 'baseline-server.ts'), String(port)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const url = `http://127.0.0.1:${port}/`;
  // Cold start: process start → first handshake answered.
  for (;;) {
    try {
      if ((await fetch(`${url}?validationToken=cold`, { method: 'POST' })).status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 30_000) throw new Error(`${name} did not answer within 30 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return { name, url, child, coldStartMs: performance.now() - started };
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/** Closed loop: as many handshakes per second as 64 connections get answered. */
async function handshakeRate(url: string, seconds: number): Promise<number> {
  const pool = new Pool(new URL(url).origin, { connections: 64 });
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < until) {
        const res = await pool.request({
          path: '/?validationToken=Validation%3a+Testing+client+application+reachability',
          method: 'POST',
        });
        await res.body.dump();
        if (res.statusCode === 200) done++;
      }
    }),
  );
  await pool.close();
  return done / seconds;
}

async function main(): Promise<void> {
  let kafka: ProvidedBroker | undefined;
  let sim: GraphSim | undefined;
  const targets: Target[] = [];
  try {
    installed = await installBundle();
    log(`bundle: ${installed.codeKiB} KiB of JavaScript, npm ci in ${installed.installMs} ms`);
    kafka = await provideBroker(log);
    sim = await GraphSim.start({
      extraUsersPerTenant: Number(args.users),
      faults: { latencyMs: Number(args['latency-ms']) },
      delivery: { concurrencyPerUrl: 256, batchWindowMs: 20 },
      maxRecords: 2_000_000,
    });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'g2k-bench-'));
    const caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, sim.caCertPem);
    const stateDir = path.join(dir, 'state');
    const env = {
      ...graphSimEnv(sim, caFile),
      KAFKA_BROKERS: kafka.brokers.join(','),
      G2K_TOPIC: `bench.events.${Date.now()}`,
      G2K_STATE_STORE: `file:${stateDir}`,
    };
    const coldStarts: Record<string, number[]> = { graph2kafka: [], emptyFunction: [], baseline: [] };
    for (let i = 0; i < 5; i++) {
      for (const name of ['graph2kafka', 'emptyFunction', 'baseline'] as const) {
        const t = await launch(name, env);
        coldStarts[name]!.push(t.coldStartMs);
        t.child.kill();
      }
    }
    const fn = await launch('graph2kafka', env);
    const empty = await launch('emptyFunction', env);
    const base = await launch('baseline', env);
    targets.push(fn, empty, base);
    const handshake = {
      graph2kafka: await handshakeRate(fn.url, 5),
      emptyFunction: await handshakeRate(empty.url, 5),
      baseline: await handshakeRate(base.url, 5),
    };
    log(
      `handshakes/s: graph2kafka ${handshake.graph2kafka.toFixed(0)}, empty functions-framework function ${handshake.emptyFunction.toFixed(0)}, baseline ${handshake.baseline.toFixed(0)}`,
    );
    const emptyRss = peakRssMb(empty.child.pid!);
    empty.child.kill();

    const store = new FileSubscriptionStore(stateDir);
    const users = sim.directory.listUsers(sim.defaults.tenantId).filter((u) => u.userPrincipalName.startsWith('user-'));
    const events = users.flatMap((u) =>
      Array.from({ length: 40 }, (_, i) => sim!.createEvent(u.id, { subject: `bench ${i}` })),
    );
    const graphRequests = (): number =>
      sim!.records.requests.all().filter((r) => r.path.startsWith('/v1.0/') && !r.batchId).length;

    const phases: Phase[] = [];
    for (const target of [fn, base]) {
      for (const sub of sim.subscriptions.all()) sim.removeSubscription(sub.id);
      for (const u of users) await createSubscription(sim, store, { userId: u.id, notificationUrl: target.url });
      for (const postSize of [1, 20]) {
        sim.setDelivery({ maxNotificationsPerPost: postSize, batchWindowMs: postSize === 1 ? 0 : 20 });
        const attemptsBefore = sim.records.attempts.all().length;
        const requestsBefore = graphRequests();
        const started = performance.now();
        for (let i = 0; i < RATE * SECONDS; i++) {
          const due = started + (i * 1000) / RATE;
          const wait = due - performance.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
          const e = events[i % events.length]!;
          sim.updateEvent(e.userId, e.id, { subject: `bench ${i}` });
        }
        await sim.settled(120_000);
        const elapsed = (performance.now() - started) / 1000;
        const attempts = sim.records.attempts
          .all()
          .slice(attemptsBefore)
          .filter((a) => a.kind === 'change');
        const ok = attempts.filter((a) => a.outcome === 'delivered');
        const delivered = ok.reduce((n, a) => n + a.notificationIds.length, 0);
        const sorted = ok.map((a) => a.durationMs).sort((a, b) => a - b);
        const phase: Phase = {
          target: target.name,
          postSize,
          notificationsPerSecond: round(delivered / elapsed, 0),
          posts: attempts.length,
          failedPosts: attempts.length - ok.length,
          p50Ms: percentile(sorted, 50),
          p95Ms: percentile(sorted, 95),
          p99Ms: percentile(sorted, 99),
          graphRequestsPerNotification: round((graphRequests() - requestsBefore) / Math.max(1, delivered), 3),
        };
        phases.push(phase);
        log(JSON.stringify(phase));
      }
    }
    const results: BenchResults = {
      date: new Date().toISOString(),
      command: `pnpm bench --rate ${RATE} --seconds ${SECONDS} --users ${args.users} --latency-ms ${args['latency-ms']}`,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memoryGiB: round(os.totalmem() / 2 ** 30),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
      },
      bundle: { codeKiB: installed.codeKiB, installMs: installed.installMs },
      coldStartMs: {
        graph2kafka: median(coldStarts.graph2kafka!),
        emptyFunction: median(coldStarts.emptyFunction!),
        baseline: median(coldStarts.baseline!),
      },
      handshakesPerSecond: {
        graph2kafka: round(handshake.graph2kafka, 0),
        emptyFunction: round(handshake.emptyFunction, 0),
        baseline: round(handshake.baseline, 0),
        ratio: round(handshake.graph2kafka / handshake.baseline, 2),
        ratioToEmptyFunction: round(handshake.graph2kafka / handshake.emptyFunction, 2),
      },
      peakRssMb: {
        graph2kafka: round(peakRssMb(fn.child.pid!)),
        emptyFunction: round(emptyRss),
        baseline: round(peakRssMb(base.child.pid!)),
      },
      phases,
    };
    console.log(JSON.stringify(results, null, 2));
    if (!args['no-docs']) await writeDocs(results);
  } finally {
    for (const t of targets) t.child.kill();
    await sim?.stop();
    await kafka?.stop();
  }
}

async function writeDocs(r: BenchResults): Promise<void> {
  const docs = path.join(root, 'docs');
  writeFileSync(path.join(docs, 'benchmarks.json'), `${JSON.stringify(r, null, 2)}\n`);
  const phases = r.phases;
  const g2k = (size: number) => phases.find((p) => p.target === 'graph2kafka' && p.postSize === size)!;
  const svg = barChart(
    `Ack latency under ${RATE} notifications/s (graph-sim ${args['latency-ms']} ms Graph latency)`,
    'ms',
    phases.map((p) => ({
      label: `${p.target}, POST of ${p.postSize}`,
      bars: [
        { name: 'p50', value: Number(p.p50Ms) },
        { name: 'p95', value: Number(p.p95Ms) },
        { name: 'p99', value: Number(p.p99Ms) },
      ],
    })),
  );
  writeFileSync(path.join(docs, 'benchmarks.svg'), svg);
  const rows = phases
    .map(
      (p) =>
        `| ${p.target} | ${p.postSize} | ${p.notificationsPerSecond} | ${p.p50Ms} | ${p.p95Ms} | ${p.p99Ms} | ${p.failedPosts} | ${p.target === 'graph2kafka' ? p.graphRequestsPerNotification : '—'} |`,
    )
    .join('\n');
  const check = (ok: boolean): string => (ok ? 'met' : '**missed**');
  const md = `# Benchmarks

Produced by \`${r.command}\` on ${r.date.slice(0, 10)}: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.platform}.
The GCP notification function runs from its deploy bundle (${r.bundle.codeKiB} KiB of JavaScript, built by
\`pnpm build\` and installed with \`npm ci --omit=dev\`, as Cloud Functions does) on functions-framework in its
own process; graph-sim (in the benchmark's process) delivers the notifications and answers Graph reads with
${args['latency-ms']} ms latency; Kafka is the local single-node broker (acks=all). The baseline is a bare
\`node:http\` server answering the handshake and 202 without doing anything; "empty function" is a
functions-framework function that does the same, to separate the framework's cost from graph2kafka's. All of
it, load generator included, shares the machine's cores. Figures vary with the machine; rerun the command to
compare.

| Target | POST size | notifications/s | p50 ack ms | p95 ack ms | p99 ack ms | failed POSTs | Graph requests / notification |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows}

![Ack latency](benchmarks.svg)

| Measure | graph2kafka | empty function | baseline | Target | |
| --- | --- | --- | --- | --- | --- |
| Handshakes/s (64 connections) | ${r.handshakesPerSecond.graph2kafka} | ${r.handshakesPerSecond.emptyFunction} | ${r.handshakesPerSecond.baseline} | ≥ 50% of baseline (${Math.round(r.handshakesPerSecond.ratio * 100)}%; ${Math.round(r.handshakesPerSecond.ratioToEmptyFunction * 100)}% of the empty function) | ${check(r.handshakesPerSecond.ratio >= 0.5)} |
| p99 ack at ${RATE} n/s, POSTs of 1 / 20 | ${g2k(1).p99Ms} / ${g2k(20).p99Ms} ms | | | < 300 ms | ${check(g2k(1).p99Ms < 300 && g2k(20).p99Ms < 300)} |
| Cold start (process start → first handshake, median of 5) | ${r.coldStartMs.graph2kafka} ms | ${r.coldStartMs.emptyFunction} ms | ${r.coldStartMs.baseline} ms | < 300 ms | ${check(r.coldStartMs.graph2kafka < 300)} |
| Peak RSS | ${r.peakRssMb.graph2kafka} MB | ${r.peakRssMb.emptyFunction} MB | ${r.peakRssMb.baseline} MB | < 150 MB | ${check(r.peakRssMb.graph2kafka < 150)} |

Raw figures: [benchmarks.json](benchmarks.json).
`;
  // Formatted as `pnpm lint` wants it, so a fresh run leaves the tree clean.
  writeFileSync(
    path.join(docs, 'benchmarks.md'),
    await format(md, { parser: 'markdown', ...(await resolveConfig(path.join(docs, 'benchmarks.md'))) }),
  );
  log('wrote docs/benchmarks.md, docs/benchmarks.json, docs/benchmarks.svg');
}

main().catch((err: unknown) => {
  console.error(`[bench] ${(err as Error).message}`);
  process.exit(1);
});
