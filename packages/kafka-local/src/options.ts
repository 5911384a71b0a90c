import { existsSync } from 'node:fs';
import path from 'node:path';
import { KafkaLocalError } from './errors.ts';
import type { KafkaLocalOptions } from './types.ts';

/**
 * Kafka's current release, what users run. Kafka 4.0 removed old protocol versions (KIP-896), yet every request
 * kafkajs 2.2.4 sends still has a version in common with 4.x (measured: Produce ≤ 7, Fetch ≤ 11 against 4.x's
 * lowest Produce 3, Fetch 4); the compatibility test proves it, and CI runs the Kafka-facing tests on 3.9 too
 * (`OLDEST_KAFKA_VERSION`), the oldest line graph2kafka promises.
 */
export const DEFAULT_KAFKA_VERSION = '4.4.0';
export const OLDEST_KAFKA_VERSION = '3.9.2';

/** Test-only credentials of the local broker, which listens on loopback only. */
const PLAIN_USER = { username: 'g2k-plain', password: 'g2k-plain-secret' };
const SCRAM_USER = { username: 'g2k-scram', password: 'g2k-scram-secret' };

/** The workspace root: the nearest folder above `from` holding pnpm-workspace.yaml. */
export function findRepoRoot(from: string = process.cwd()): string {
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new KafkaLocalError(
        'NOT_CONFIGURED',
        `no pnpm-workspace.yaml above ${from}: run this from the graph2kafka checkout, or set G2K_KAFKA_HOME.`,
      );
    }
    dir = parent;
  }
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new KafkaLocalError(
      'NOT_CONFIGURED',
      `${name}=${raw} is not a TCP port: use a whole number from 1 to 65535.`,
    );
  }
  return value;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new KafkaLocalError('NOT_CONFIGURED', `${name}=${raw} must be a positive whole number of milliseconds.`);
  }
  return value;
}

/** Options from the environment (every `G2K_KAFKA_*` variable is documented in the README). */
export function optionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<KafkaLocalOptions> = {},
): KafkaLocalOptions {
  const home = overrides.home ?? env.G2K_KAFKA_HOME ?? path.join(findRepoRoot(), '.cache', 'kafka');
  const javaHome = env.JAVA_HOME;
  return {
    kafkaVersion: env.G2K_KAFKA_VERSION || DEFAULT_KAFKA_VERSION,
    home: path.resolve(home),
    runDir: path.resolve(overrides.runDir ?? env.G2K_KAFKA_RUN_DIR ?? path.join(home, 'run')),
    host: '127.0.0.1',
    plaintextPort: port(env, 'G2K_KAFKA_PORT', 19092),
    saslPort: port(env, 'G2K_KAFKA_SASL_PORT', 19093),
    controllerPort: port(env, 'G2K_KAFKA_CONTROLLER_PORT', 19094),
    readyTimeoutMs: positiveInt(env, 'G2K_KAFKA_READY_TIMEOUT_MS', 90_000),
    heap: env.G2K_KAFKA_HEAP || '512m',
    javaCommand: env.G2K_KAFKA_JAVA || (javaHome ? path.join(javaHome, 'bin', 'java') : 'java'),
    mavenCommand: env.G2K_KAFKA_MVN || 'mvn',
    mavenSettings: env.G2K_KAFKA_MAVEN_SETTINGS || undefined,
    mavenLocalRepo: env.G2K_KAFKA_MAVEN_REPO || undefined,
    plainUser: PLAIN_USER,
    scramUser: SCRAM_USER,
    ...overrides,
  };
}
