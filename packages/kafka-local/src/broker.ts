import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KafkaLocalError } from './errors.ts';
import { ensureJars } from './fetch-jars.ts';
import { requirePortFree } from './ports.ts';
import { requireJava } from './prerequisites.ts';
import { commandLine, isAlive, terminate } from './process.ts';
import { waitForMetadata } from './readiness.ts';
import { LOG4J_PROPERTIES, renderServerProperties } from './server-properties.ts';
import type { BrokerState, KafkaConnection, KafkaLocalOptions } from './types.ts';

const STOP_GRACE_MS = 30_000;

export interface StartResult {
  readonly state: BrokerState;
  /** True when a broker of ours was already running and is reused as it is. */
  readonly reused: boolean;
  readonly jarsFetched: boolean;
  readonly elapsedMs: number;
}

function stateFile(options: KafkaLocalOptions): string {
  return path.join(options.runDir, 'broker.json');
}

export function connectionOf(options: KafkaLocalOptions): KafkaConnection {
  return {
    brokers: [`${options.host}:${options.plaintextPort}`],
    saslBrokers: [`${options.host}:${options.saslPort}`],
    plainUser: options.plainUser,
    scramUser: options.scramUser,
  };
}

/** Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (what `random-uuid` prints). */
/**
 * A cluster id as Kafka makes them (16 random bytes, base64url). Passed as `--cluster-id=<id>`: an id that
 * starts with '-' (1 in 64) would otherwise be read as an option.
 */
function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

function isOurs(state: BrokerState): boolean {
  return isAlive(state.pid) && (commandLine(state.pid)?.includes(state.propertiesPath) ?? false);
}

/** The broker of ours that runs now, if any; a state file left by a dead broker is removed. */
export function brokerStatus(options: KafkaLocalOptions): BrokerState | undefined {
  const file = stateFile(options);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as BrokerState;
  if (isOurs(state)) return state;
  rmSync(file, { force: true });
  return undefined;
}

/** The log of a process that just died can still be empty for a moment on a loaded machine; give it a second. */
async function settledLogTail(logPath: string): Promise<string> {
  for (let i = 0; i < 10 && !logTail(logPath).trim(); i++) await new Promise((r) => setTimeout(r, 100));
  return logTail(logPath).trim() || '(the log is empty)';
}

function logTail(logPath: string, lines = 15): string {
  if (!existsSync(logPath)) return '(no log)';
  return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function formatStorage(options: KafkaLocalOptions, classpath: string, propertiesPath: string, log4jPath: string): void {
  const { scramUser } = options;
  const run = spawnSync(
    options.javaCommand,
    [
      `-Dlog4j.configuration=file:${log4jPath}`,
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      `--cluster-id=${newClusterId()}`,
      '-c',
      propertiesPath,
      '--add-scram',
      `SCRAM-SHA-512=[name=${scramUser.username},password=${scramUser.password}]`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (run.error || run.status !== 0) {
    throw new KafkaLocalError(
      'BROKER_EXITED',
      `formatting the broker's KRaft storage failed (${run.error?.message ?? `exit ${run.status}`}): ${`${run.stdout}${run.stderr}`.trim().slice(-800)}`,
    );
  }
}

/**
 * Starts a single-node broker+controller on loopback and resolves once a client's metadata request succeeds.
 * A broker of ours that already runs is reused. On any failure nothing of ours is left running.
 */
export async function startBroker(
  options: KafkaLocalOptions,
  { keepData = false }: { keepData?: boolean } = {},
): Promise<StartResult> {
  const began = Date.now();
  const running = brokerStatus(options);
  if (running) return { state: running, reused: true, jarsFetched: false, elapsedMs: Date.now() - began };

  requireJava(options.javaCommand);
  await requirePortFree(options.host, options.plaintextPort, 'G2K_KAFKA_PORT');
  await requirePortFree(options.host, options.saslPort, 'G2K_KAFKA_SASL_PORT');
  await requirePortFree(options.host, options.controllerPort, 'G2K_KAFKA_CONTROLLER_PORT');
  const jars = ensureJars(options);

  const dir = options.runDir;
  const dataDir = path.join(dir, 'data');
  // keepData restarts a stopped broker on its existing storage: what an outage test needs to show nothing is lost.
  const reuseStorage = keepData && existsSync(path.join(dataDir, 'meta.properties'));
  if (!reuseStorage) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const propertiesPath = path.join(dir, 'server.properties');
  const log4jPath = path.join(dir, 'log4j.properties');
  const logPath = path.join(dir, 'broker.log');
  writeFileSync(propertiesPath, renderServerProperties(options, dataDir));
  writeFileSync(log4jPath, LOG4J_PROPERTIES);
  const classpath = path.join(jars.dir, '*');
  if (!reuseStorage) formatStorage(options, classpath, propertiesPath, log4jPath);

  const log = openSync(logPath, 'w');
  // Detached in its own process group: a Ctrl-C in the terminal reaches our runner, which then stops the
  // broker cleanly, instead of killing the broker halfway through a test's cleanup.
  const child = spawn(
    options.javaCommand,
    [
      `-Xmx${options.heap}`,
      `-Xms${options.heap}`,
      '-server',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${log4jPath}`,
      `-Dkafka.logs.dir=${dir}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      propertiesPath,
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    throw new KafkaLocalError(
      'BROKER_EXITED',
      `the broker process did not start (\`${options.javaCommand}\` could not be spawned).`,
    );
  }
  const state: BrokerState = {
    pid,
    kafkaVersion: options.kafkaVersion,
    propertiesPath,
    logPath,
    startedAt: new Date().toISOString(),
    connection: connectionOf(options),
  };
  writeFileSync(stateFile(options), `${JSON.stringify(state, null, 2)}\n`);

  const outcome = await waitForMetadata(state.connection.brokers, options.readyTimeoutMs, () => isAlive(pid));
  if (outcome === 'ready') {
    return { state, reused: false, jarsFetched: jars.fetched, elapsedMs: Date.now() - began };
  }
  await terminate(pid, 5_000).catch(() => undefined);
  rmSync(stateFile(options), { force: true });
  if (outcome === 'exited') {
    throw new KafkaLocalError(
      'BROKER_EXITED',
      `the Kafka broker exited during start-up. Last lines of ${logPath}:\n${await settledLogTail(logPath)}`,
    );
  }
  throw new KafkaLocalError(
    'BROKER_NOT_READY',
    `the Kafka broker did not answer a metadata request within ${options.readyTimeoutMs} ms and was stopped. A slow machine may need more: set G2K_KAFKA_READY_TIMEOUT_MS. Last lines of ${logPath}:\n${logTail(logPath)}`,
  );
}

/**
 * Stops our broker (only a process whose command line names our configuration) and removes its data. `crash`
 * kills it at once (SIGKILL), without the clean shutdown, as a crashed or evicted broker goes.
 */
export async function stopBroker(
  options: KafkaLocalOptions,
  { keepData = false, crash = false }: { keepData?: boolean; crash?: boolean } = {},
): Promise<'stopped' | 'not-running'> {
  const state = brokerStatus(options);
  if (!state) return 'not-running';
  await terminate(state.pid, crash ? 0 : STOP_GRACE_MS);
  rmSync(stateFile(options), { force: true });
  if (!keepData) rmSync(path.join(options.runDir, 'data'), { recursive: true, force: true });
  return 'stopped';
}
