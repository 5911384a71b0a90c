// `pnpm dev`: the whole pipeline on one machine. A local Kafka broker, graph-sim (Graph and Entra), and the GCP
// functions on functions-framework; then a subscription, a few calendar changes, and the records as they
// arrive in Kafka. Runs until Ctrl-C; `--once` stops after the demo's records arrived (used by the tests).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  createAppFromEnv,
  formatStatus,
  pipelineStatus,
  runRenewal,
  silentLogger,
  type Graph2Kafka,
} from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { KafkaLocalError, provideBroker, type ProvidedBroker } from '@graph2kafka/kafka-local';
import { graphSimEnv, TopicReader, type ReadRecord } from '@graph2kafka/testkit';
import { parseCommandLine } from './args.ts';

const USAGE = `pnpm dev [--once]: Kafka, graph-sim and the GCP functions on this machine; a subscription, a few calendar
changes, and the records as they arrive. Runs until Ctrl-C.
  --once   stop once the demo's records arrived
Ports: G2K_DEV_SIM_PORT, G2K_DEV_FUNCTION_PORT, G2K_DEV_LIFECYCLE_PORT; topic: G2K_TOPIC; KAFKA_BROKERS uses a broker of yours.`;
const { values: args } = parseCommandLine(USAGE, { options: { once: { type: 'boolean', default: false } } });
const root = path.resolve(import.meta.dirname, '..');
const cacheDir = path.join(root, '.cache', 'dev');
const log = (line: string): void => console.log(`[dev] ${line}`);
const port = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

const children: ChildProcess[] = [];
/** How often the functions export their metrics here (the console exporter; in the cloud, every minute). */
const METRICS_EVERY_MS = 5_000;
/** The last metrics line of each function, by target. */
const metricsSeen = new Map<string, Record<string, number>>();
let sim: GraphSim | undefined;
let kafka: ProvidedBroker | undefined;
let reader: TopicReader | undefined;
let ops: Graph2Kafka | undefined;

async function waitForFunction(url: string, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}?validationToken=ready`, { method: 'POST' });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`the ${name} function did not answer at ${url} within 30 s; see its output above`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startFunction(target: string, functionPort: number, env: Record<string, string>): string {
  const require = createRequire(path.join(root, 'packages', 'gcp-fn', 'package.json'));
  // The package exports only its API; its server entry (main.js) sits beside it.
  const main = path.join(path.dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
  const child = spawn(
    process.execPath,
    [main, `--target=${target}`, `--source=${path.join(root, 'packages', 'gcp-fn')}`, `--port=${functionPort}`],
    {
      env: { ...process.env, ...env, NODE_OPTIONS: '--conditions=@graph2kafka/source' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  // The function's log lines pass through; its metrics lines are shown as a short summary.
  createInterface({ input: child.stdout }).on('line', (line) => {
    const metrics = metricsOf(line);
    if (!metrics) return console.log(line);
    const changed = JSON.stringify(metrics) !== JSON.stringify(metricsSeen.get(target));
    metricsSeen.set(target, metrics);
    if (!changed) return;
    const shown = Object.entries(metrics).filter(([name, v]) => v && !name.endsWith('.mean') && !name.includes('le='));
    if (shown.length) log(`metrics          ${target}: ${shown.map(([n, v]) => `${n} ${v}`).join('  ')}`);
  });
  return `http://127.0.0.1:${functionPort}/`;
}

function metricsOf(line: string): Record<string, number> | undefined {
  if (!line.includes('"message":"metrics"')) return undefined;
  try {
    return (JSON.parse(line) as { metrics?: Record<string, number> }).metrics;
  } catch {
    return undefined;
  }
}

function describe(record: ReadRecord): string {
  const change = record.headers['g2k-change-type'] ?? '?';
  if (record.value === null) return `tombstone  key=${record.key}`;
  const value = JSON.parse(record.value) as {
    enriched: boolean;
    notEnrichedReason: string | null;
    event: { subject?: string } | null;
  };
  const body = value.enriched
    ? `enriched, subject "${value.event?.subject ?? ''}"`
    : change === 'deleted'
      ? 'deleted'
      : `not enriched (${value.notEnrichedReason})`;
  return `${change.padEnd(8)} key=${record.key}  ${body}`;
}

async function main(): Promise<void> {
  kafka = await provideBroker(log);
  const brokers = kafka.brokers;

  sim = await GraphSim.start({ port: port('G2K_DEV_SIM_PORT', 8443) });
  mkdirSync(cacheDir, { recursive: true });
  const caFile = path.join(cacheDir, 'graph-sim-ca.pem');
  writeFileSync(caFile, sim.caCertPem);
  const stateDir = path.join(cacheDir, 'state');
  // graph-sim starts empty each run, so the state of an earlier run describes subscriptions that do not exist.
  rmSync(stateDir, { recursive: true, force: true });
  const topic = process.env.G2K_TOPIC ?? 'graph.calendar.events';
  const env: Record<string, string> = {
    ...graphSimEnv(sim, caFile),
    KAFKA_BROKERS: brokers.join(','),
    G2K_TOPIC: topic,
    G2K_STATE_STORE: `file:${stateDir}`,
    G2K_METRICS_EXPORTER: 'console',
    G2K_METRICS_INTERVAL_MS: String(METRICS_EVERY_MS),
    G2K_HEALTH_WINDOW_SECONDS: '10',
  };
  const user = sim.defaults.users[0]!;
  const notificationUrl = `http://127.0.0.1:${port('G2K_DEV_FUNCTION_PORT', 8080)}/`;
  const lifecycleUrl = `http://127.0.0.1:${port('G2K_DEV_LIFECYCLE_PORT', 8081)}/`;
  // The subscription manager's settings: the lifecycle function acts on lifecycle events with them.
  Object.assign(env, {
    G2K_NOTIFICATION_URL: notificationUrl,
    G2K_LIFECYCLE_URL: lifecycleUrl,
    G2K_SUBSCRIBE_USERS: user.id,
  });
  startFunction('graphNotifications', port('G2K_DEV_FUNCTION_PORT', 8080), env);
  startFunction('graphLifecycle', port('G2K_DEV_LIFECYCLE_PORT', 8081), env);
  await Promise.all([waitForFunction(notificationUrl, 'notifications'), waitForFunction(lifecycleUrl, 'lifecycle')]);

  log(`Kafka            ${brokers.join(',')}   topic ${topic}`);
  log(`graph-sim        Graph ${sim.urls.graph}   login ${sim.urls.authority}   control ${sim.urls.control}`);
  log(`GCP functions    notifications ${notificationUrl}   lifecycle ${lifecycleUrl}`);
  log(`state            ${stateDir}   (graph-sim CA: ${caFile})`);

  reader = await TopicReader.start(brokers, topic);
  // What the renewal timer does, run once here: the subscription manager creates the subscription.
  ops = await createAppFromEnv(env, [], { logger: silentLogger });
  const report = await runRenewal(ops);
  const sub = (await ops.store.list()).find((r) => report.created.includes(r.id))!;
  log(`subscription     ${sub.id} on ${sub.resource} (handshakes answered by both functions)`);

  const standup = sim.createEvent(user.id, { subject: 'Daily stand-up', location: 'Teams' });
  const review = sim.createEvent(user.id, { subject: 'Quarterly review', attendees: ['alex@contoso.onmicrosoft.com'] });
  log(`changes          created "Daily stand-up" and "Quarterly review" for ${user.userPrincipalName}`);
  await sim.settled();
  sim.updateEvent(user.id, review.id, { subject: 'Quarterly review (moved to Friday)' });
  sim.deleteEvent(user.id, standup.id);
  log('changes          renamed the review, deleted the stand-up');
  await sim.settled();

  // The topic may hold records of earlier runs; this run's carry its new subscription's id.
  const ours = (): ReadRecord[] => reader!.records.filter((r) => r.headers['g2k-subscription-id'] === sub.id);
  let printed = 0;
  const print = (): void => {
    for (const record of ours().slice(printed)) log(`kafka            ${describe(record)}`);
    printed = ours().length;
  };
  const deadline = Date.now() + 30_000;
  while (ours().length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  print();
  if (ours().length < 5) throw new Error(`only ${ours().length} of the 5 expected records reached Kafka within 30 s`);
  log('5 records arrived. Make more changes through the control API (packages/graph-sim/README.md).');
  // The notification function's next export counts this demo's changes, and its answers reach the store
  // within its health window (10 s here).
  const until = Date.now() + 15_000;
  let status = await pipelineStatus(ops);
  while (
    (!(metricsSeen.get('graphNotifications')?.['g2k.notifications{outcome=produced}'] ?? 0) || !status.answers.posts) &&
    Date.now() < until
  ) {
    await new Promise((r) => setTimeout(r, 500));
    status = await pipelineStatus(ops);
  }
  log('status           what an operator sees (pnpm graph2kafka status):');
  for (const line of formatStatus(status).split('\n')) log(`  ${line}`);
  if (args.once) return;
  log('Ctrl-C stops everything.');
  setInterval(print, 200);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

async function shutdown(): Promise<void> {
  await reader?.stop().catch(() => undefined);
  await ops?.close();
  for (const child of children) child.kill('SIGTERM');
  await sim?.stop();
  await kafka?.stop();
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`[dev] ${err instanceof KafkaLocalError || err instanceof Error ? err.message : String(err)}`);
  code = 1;
} finally {
  await shutdown();
}
process.exit(code);
