// `pnpm bench`: graph-sim drives the GCP notification function (a real functions-framework server, its own
// process) into real Kafka, and the same load drives a bare node:http baseline that answers 202 doing
// nothing. Reports cold start, handshake rate, throughput, ack latency p50/p95/p99, Graph requests per
// notification and peak RSS; writes docs/benchmarks.json, docs/benchmarks.md and docs/benchmarks.svg.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { FileSubscriptionStore } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { provideBroker, type ProvidedBroker } from '@graph2kafka/kafka-local';
import { createSubscription, freePort, graphSimEnv } from '@graph2kafka/testkit';
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
  coldStartMs: { graph2kafka: number; baseline: number };
  handshakesPerSecond: { graph2kafka: number; baseline: number; ratio: number };
  peakRssMb: { graph2kafka: number; baseline: number };
  phases: Phase[];
}

interface Target {
  name: 'graph2kafka' | 'baseline';
  url: string;
  child: ChildProcess;
  coldStartMs: number;
}

async function launch(name: Target['name'], env: Record<string, string>): Promise<Target> {
  const port = await freePort();
  const started = performance.now();
  let child: ChildProcess;
  if (name === 'graph2kafka') {
    const require = createRequire(path.join(root, 'packages', 'gcp-fn', 'package.json'));
    const main = path.join(path.dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
    child = spawn(
      process.execPath,
      [main, '--target=graphNotifications', `--source=${path.join(root, 'packages', 'gcp-fn')}`, `--port=${port}`],
      {
        env: { ...process.env, ...env, NODE_OPTIONS: '--conditions=@graph2kafka/source' },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
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
    const coldStarts: Record<string, number[]> = { graph2kafka: [], baseline: [] };
    for (let i = 0; i < 5; i++) {
      for (const name of ['graph2kafka', 'baseline'] as const) {
        const t = await launch(name, env);
        coldStarts[name]!.push(t.coldStartMs);
        t.child.kill();
      }
    }
    const fn = await launch('graph2kafka', env);
    const base = await launch('baseline', env);
    targets.push(fn, base);
    const handshake = { graph2kafka: await handshakeRate(fn.url, 5), baseline: await handshakeRate(base.url, 5) };
    log(`handshakes/s: graph2kafka ${handshake.graph2kafka.toFixed(0)}, baseline ${handshake.baseline.toFixed(0)}`);

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
      coldStartMs: {
        graph2kafka: round(
          percentile(
            [...coldStarts.graph2kafka!].sort((a, b) => a - b),
            50,
          ),
        ),
        baseline: round(
          percentile(
            [...coldStarts.baseline!].sort((a, b) => a - b),
            50,
          ),
        ),
      },
      handshakesPerSecond: {
        graph2kafka: round(handshake.graph2kafka, 0),
        baseline: round(handshake.baseline, 0),
        ratio: round(handshake.graph2kafka / handshake.baseline, 2),
      },
      peakRssMb: { graph2kafka: round(peakRssMb(fn.child.pid!)), baseline: round(peakRssMb(base.child.pid!)) },
      phases,
    };
    console.log(JSON.stringify(results, null, 2));
    if (!args['no-docs']) writeDocs(results);
  } finally {
    for (const t of targets) t.child.kill();
    await sim?.stop();
    await kafka?.stop();
  }
}

function writeDocs(r: BenchResults): void {
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
The GCP notification function runs on a real functions-framework server in its own process, from the
TypeScript sources; graph-sim (in the benchmark's process) delivers the notifications and answers Graph
reads with ${args['latency-ms']} ms latency; Kafka is the local single-node broker (acks=all). The baseline is
a bare \`node:http\` server answering the handshake and 202 without doing anything. Figures vary with the
machine; rerun the command to compare.

| Target | POST size | notifications/s | p50 ack ms | p95 ack ms | p99 ack ms | failed POSTs | Graph requests / notification |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows}

![Ack latency](benchmarks.svg)

| Measure | graph2kafka | baseline | Target | |
| --- | --- | --- | --- | --- |
| Handshakes/s (64 connections) | ${r.handshakesPerSecond.graph2kafka} | ${r.handshakesPerSecond.baseline} | ≥ 50% of baseline (${Math.round(r.handshakesPerSecond.ratio * 100)}%) | ${check(r.handshakesPerSecond.ratio >= 0.5)} |
| p99 ack at ${RATE} n/s, POSTs of 1 / 20 | ${g2k(1).p99Ms} / ${g2k(20).p99Ms} ms | | < 300 ms | ${check(g2k(1).p99Ms < 300 && g2k(20).p99Ms < 300)} |
| Cold start (process start → first handshake, median of 5) | ${r.coldStartMs.graph2kafka} ms | ${r.coldStartMs.baseline} ms | < 300 ms | ${check(r.coldStartMs.graph2kafka < 300)} |
| Peak RSS | ${r.peakRssMb.graph2kafka} MB | ${r.peakRssMb.baseline} MB | < 150 MB | ${check(r.peakRssMb.graph2kafka < 150)} |

Raw figures: [benchmarks.json](benchmarks.json).
`;
  writeFileSync(path.join(docs, 'benchmarks.md'), md);
  log('wrote docs/benchmarks.md, docs/benchmarks.json, docs/benchmarks.svg');
}

main().catch((err: unknown) => {
  console.error(`[bench] ${(err as Error).message}`);
  process.exit(1);
});
