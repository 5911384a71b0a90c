// `pnpm dev`: the whole pipeline on one machine. A local Kafka broker, graph-sim (Graph and Entra), and the GCP
// functions on functions-framework; then a subscription, a few calendar changes, and the records as they
// arrive in Kafka. Runs until Ctrl-C (or SIGTERM), then stops everything and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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
import { GraphSim, type Redelivery } from '@graph2kafka/graph-sim';
import { KafkaLocalError, provideBroker, type ProvidedBroker } from '@graph2kafka/kafka-local';
import { graphSimEnv, TopicReader, type ReadRecord } from '@graph2kafka/testkit';
import { parseCommandLine } from './args.ts';
import { DEV_REDELIVERIES, FUNCTION_START_MS, RECORDS_MS, STATUS_MS } from './dev-budgets.ts';

const USAGE = `pnpm dev: Kafka, graph-sim and the GCP functions on this machine; a subscription, a few calendar changes,
and the records as they arrive. Runs until Ctrl-C (exit 0).
Ports: G2K_DEV_SIM_PORT, G2K_DEV_FUNCTION_PORT, G2K_DEV_LIFECYCLE_PORT; topic: G2K_TOPIC; KAFKA_BROKERS uses a broker of yours.`;
parseCommandLine(USAGE, { options: {} });
const root = path.resolve(import.meta.dirname, '..');
const cacheDir = path.join(root, '.cache', 'dev');
const log = (line: string): void => console.log(`[dev] ${line}`);
const port = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Ctrl-C is how dev is meant to end, so it is a clean stop (exit 0), at any moment, also during start-up. The
// handlers stay: under `pnpm dev` one Ctrl-C arrives twice (from the terminal and forwarded by pnpm).
let stopping = false;
const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => resolve(signal));
});
void stopRequested.then(() => (stopping = true));

const children: ChildProcess[] = [];
/** How often the functions export their metrics here (the console exporter; in the cloud, every minute). */
const METRICS_EVERY_MS = 5_000;
/** The last metrics line of each function, by target. */
const metricsSeen = new Map<string, Record<string, number>>();
// Kept as promises, so a stop during start-up still stops what is being started (the broker runs detached).
let simStarting: Promise<GraphSim> | undefined;
let kafkaStarting: Promise<ProvidedBroker> | undefined;
let reader: TopicReader | undefined;
let ops: Graph2Kafka | undefined;

async function waitForFunction(url: string, name: string): Promise<void> {
  const deadline = Date.now() + FUNCTION_START_MS;
  for (;;) {
    try {
      const res = await fetch(`${url}?validationToken=ready`, { method: 'POST' });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(
        `the ${name} function did not answer at ${url} within ${seconds(FUNCTION_START_MS)}; see its output above`,
      );
    await sleep(100);
  }
}

function startFunction(target: string, functionPort: number, env: Record<string, string>): string {
  if (stopping) throw new Error('stopped');
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

/** Why graph-sim will POST again, in words: the answer the function gave, or that it gave none. */
function failedBecause(retry: Redelivery, functionName: string): string {
  const what = `${retry.notifications} notification(s)`;
  if (retry.lastStatus === 503)
    return `the ${functionName} function answered 503 to ${what}: Kafka did not acknowledge in time, as on a cold start (its log line above says more)`;
  if (retry.lastStatus !== undefined)
    return `the ${functionName} function answered ${retry.lastStatus} to ${what} (its log line above says why)`;
  return `the ${functionName} function did not answer ${what} (${retry.lastError ?? 'no answer'})`;
}

/**
 * Waits until graph-sim delivered every notification, through the retries it schedules as Graph does when a
 * POST fails (on a cold machine the first one can), saying once per retry what it waits for. Gives up after
 * `DEV_REDELIVERIES` retries.
 */
async function delivered(sim: GraphSim, functionName: (url: string) => string): Promise<void> {
  const windowMs = sim.deliveryWindowMs(DEV_REDELIVERIES);
  const deadline = Date.now() + windowMs;
  const told = new Set<string>();
  for (;;) {
    const pending = sim.notifications({ state: 'pending' }).length;
    if (!pending) return;
    for (const retry of sim.redeliveries()) {
      const key = `${retry.url} ${retry.attempt} ${retry.atMs}`;
      if (told.has(key)) continue;
      told.add(key);
      log(
        `waiting          ${failedBecause(retry, functionName(retry.url))}; graph-sim POSTs again in ${seconds(retry.inMs)}, as Graph would`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(
        `graph-sim could not deliver ${pending} notification(s) within ${seconds(windowMs)} (the first POST and ${DEV_REDELIVERIES} retries); the functions' log lines above say why`,
      );
    await sleep(50);
  }
}

/**
 * The pipeline's settings for the ops CLI, as a file both `node --env-file` and a POSIX shell (`set -a; .`)
 * read: single-quoted values, which neither unquotes differently.
 */
function writeEnvFile(file: string, env: Record<string, string>): void {
  const lines = Object.entries(env).map(([name, value]) => {
    if (value.includes("'") || value.includes('\n'))
      throw new Error(`${name} holds a quote or a line break, which ${file} cannot carry: ${value}`);
    return `${name}='${value}'`;
  });
  writeFileSync(
    file,
    `# pnpm dev's pipeline, for the ops CLI: (set -a; . ${path.relative(root, file)}; pnpm graph2kafka status)\n${lines.join('\n')}\n`,
  );
}

async function main(): Promise<void> {
  kafkaStarting = provideBroker(log);
  const kafka = await kafkaStarting;
  const brokers = kafka.brokers;

  simStarting = GraphSim.start({ port: port('G2K_DEV_SIM_PORT', 8443) });
  const sim = await simStarting;
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
  // The ops CLI reads what the functions read, apart from where they export their metrics.
  const { G2K_METRICS_EXPORTER: _console, G2K_METRICS_INTERVAL_MS: _every, ...opsEnv } = env;
  const envFile = path.join(cacheDir, 'env');
  writeEnvFile(envFile, opsEnv);
  startFunction('graphNotifications', port('G2K_DEV_FUNCTION_PORT', 8080), env);
  startFunction('graphLifecycle', port('G2K_DEV_LIFECYCLE_PORT', 8081), env);
  await Promise.all([waitForFunction(notificationUrl, 'notifications'), waitForFunction(lifecycleUrl, 'lifecycle')]);

  log(`Kafka            ${brokers.join(',')}   topic ${topic}`);
  log(`graph-sim        Graph ${sim.urls.graph}   login ${sim.urls.authority}   control ${sim.urls.control}`);
  log(`GCP functions    notifications ${notificationUrl}   lifecycle ${lifecycleUrl}`);
  log(`state            ${stateDir}   (graph-sim CA: ${caFile})`);
  log(`ops CLI          (set -a; . ${path.relative(root, envFile)}; pnpm graph2kafka status)`);

  reader = await TopicReader.start(brokers, topic);
  // What the renewal timer does, run once here: the subscription manager creates the subscription.
  ops = await createAppFromEnv(env, [], { logger: silentLogger });
  const report = await runRenewal(ops);
  const sub = (await ops.subscriptions.list()).find((r) => report.created.includes(r.id))!;
  log(`subscription     ${sub.id} on ${sub.resource} (handshakes answered by both functions)`);

  const standup = sim.createEvent(user.id, { subject: 'Daily stand-up', location: 'Teams' });
  const review = sim.createEvent(user.id, { subject: 'Quarterly review', attendees: ['alex@contoso.onmicrosoft.com'] });
  log(`changes          created "Daily stand-up" and "Quarterly review" for ${user.userPrincipalName}`);
  const functionName = (url: string): string => (url === lifecycleUrl ? 'lifecycle' : 'notifications');
  await delivered(sim, functionName);
  sim.updateEvent(user.id, review.id, { subject: 'Quarterly review (moved to Friday)' });
  sim.deleteEvent(user.id, standup.id);
  log('changes          renamed the review, deleted the stand-up');
  await delivered(sim, functionName);

  // The topic may hold records of earlier runs; this run's carry its new subscription's id.
  const ours = (): ReadRecord[] => reader!.records.filter((r) => r.headers['g2k-subscription-id'] === sub.id);
  let printed = 0;
  const print = (): void => {
    for (const record of ours().slice(printed)) log(`kafka            ${describe(record)}`);
    printed = ours().length;
  };
  const deadline = Date.now() + RECORDS_MS;
  while (ours().length < 5 && Date.now() < deadline) await sleep(50);
  print();
  if (ours().length < 5)
    throw new Error(`only ${ours().length} of the 5 expected records reached Kafka within ${seconds(RECORDS_MS)}`);
  log('5 records arrived. Make more changes through the control API (packages/graph-sim/README.md).');
  // The notification function's next export counts this demo's changes, and its answers to every POST
  // graph-sim made (a refused first one included) reach the store within its health window (10 s here).
  const posts = sim.records.attempts.all().filter((a) => a.kind === 'change').length;
  const until = Date.now() + STATUS_MS;
  let status = await pipelineStatus(ops);
  while (
    (!(metricsSeen.get('graphNotifications')?.['g2k.notifications{outcome=produced}'] ?? 0) ||
      status.answers.posts < posts) &&
    Date.now() < until
  ) {
    await sleep(500);
    status = await pipelineStatus(ops);
  }
  log('status           what an operator sees (pnpm graph2kafka status):');
  for (const line of formatStatus(status).split('\n')) log(`  ${line}`);
  log('Ctrl-C stops everything.');
  setInterval(print, 200);
  await stopRequested;
}

/** Stops a function and waits for it to exit (it may have gone already: Ctrl-C reaches it from the terminal too). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5_000)]);
}

async function shutdown(): Promise<void> {
  await reader?.stop().catch(() => undefined);
  await ops?.close().catch(() => undefined);
  await Promise.all(children.map(stopChild));
  await (await simStarting?.catch(() => undefined))?.stop();
  await (await kafkaStarting?.catch(() => undefined))?.stop();
}

let code = 0;
const running = main();
try {
  const signal = await Promise.race([running, stopRequested]);
  if (signal) log(`${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping the functions, graph-sim and Kafka`);
} catch (err) {
  console.error(`[dev] ${err instanceof KafkaLocalError || err instanceof Error ? err.message : String(err)}`);
  code = 1;
} finally {
  // A stop during start-up leaves main() at some await; what it does after that no longer matters.
  running.catch(() => undefined);
  await shutdown();
}
process.exit(code);
