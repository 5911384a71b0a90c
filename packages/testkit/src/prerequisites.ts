import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { KafkaLocalError, libsDir, optionsFromEnv, requireJava, requireMaven } from '@graph2kafka/kafka-local';

/** One thing `pnpm test` needs from the machine that `pnpm install` cannot bring, and how to get it. */
export interface MissingPrerequisite {
  name: string;
  /** What needs it. */
  neededBy: string;
  /** What was found instead (the probe's own words). */
  found: string;
  /** How to install it, or avoid needing it. */
  install: string;
}

/** The PostgreSQL server's bin directory: `G2K_PG_BIN`, else the newest /usr/lib/postgresql/<version>/bin. */
export function postgresBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.G2K_PG_BIN) return existsSync(path.join(env.G2K_PG_BIN, 'initdb')) ? env.G2K_PG_BIN : undefined;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? path.join(root, newest, 'bin') : undefined;
}

/** The shellcheck command the deploy-script tests run: `G2K_SHELLCHECK`, else `shellcheck` on PATH. */
export const shellcheckCommand = (env: NodeJS.ProcessEnv = process.env): string => env.G2K_SHELLCHECK || 'shellcheck';

const problem = (err: unknown): string => (err instanceof KafkaLocalError ? err.message : String(err));

/**
 * Everything `pnpm test` needs that is missing here, all at once (a new machine should learn the whole list
 * from one run, not one item per try). Java and Maven are needed only for the local broker: not when
 * `KAFKA_BROKERS` names a Kafka, and Maven only until the broker's jars are cached. `broker`: only what the
 * local broker needs.
 */
export function missingPrerequisites(
  env: NodeJS.ProcessEnv = process.env,
  scope: 'all' | 'broker' = 'all',
): MissingPrerequisite[] {
  const missing: MissingPrerequisite[] = [];
  if (!env.KAFKA_BROKERS) {
    const kafka = optionsFromEnv(env);
    try {
      requireJava(kafka.javaCommand);
    } catch (err) {
      missing.push({
        name: 'Java 17+',
        neededBy: 'the local Kafka broker',
        found: problem(err),
        install:
          'apt-get install openjdk-17-jre-headless (or any JDK 17+ with JAVA_HOME set), or KAFKA_BROKERS=host:port to use a Kafka of your own',
      });
    }
    if (!existsSync(path.join(libsDir(kafka), '.complete'))) {
      try {
        requireMaven(kafka.mavenCommand);
      } catch (err) {
        missing.push({
          name: 'Maven',
          neededBy: "fetching the Kafka broker's jars from Maven Central (once; they are cached after)",
          found: problem(err),
          install: 'apt-get install maven (or set G2K_KAFKA_MVN to its path), or KAFKA_BROKERS=host:port',
        });
      }
    }
  }
  // A chosen subset of tests (`pnpm test -- path`, `pnpm chaos`) may not touch PostgreSQL or the deploy scripts.
  if (scope === 'broker') return missing;
  if (!postgresBin(env)) {
    missing.push({
      name: 'PostgreSQL server',
      neededBy: "the PostgreSQL state store's tests (a throwaway server per run)",
      found: env.G2K_PG_BIN
        ? `no initdb in G2K_PG_BIN=${env.G2K_PG_BIN}`
        : 'no /usr/lib/postgresql/<version>/bin/initdb',
      install: 'apt-get install postgresql (the server; it need not run), or set G2K_PG_BIN to its bin directory',
    });
  }
  const shellcheck = shellcheckCommand(env);
  const probe = spawnSync(shellcheck, ['--version'], { encoding: 'utf8', timeout: 30_000, env });
  if (probe.error || probe.status !== 0) {
    missing.push({
      name: 'shellcheck',
      neededBy: "the deploy scripts' lint (infra/tests)",
      found: `\`${shellcheck} --version\` failed (${probe.error?.message ?? `exit ${probe.status}`})`,
      install: 'apt-get install shellcheck (or set G2K_SHELLCHECK to its path)',
    });
  }
  return missing;
}

/** The one message that names everything missing and how to get each. */
export function prerequisitesMessage(missing: MissingPrerequisite[]): string {
  const lines = missing.map(
    (m) => `  - ${m.name}, for ${m.neededBy}.\n    Install: ${m.install}.\n    Found: ${m.found}`,
  );
  return `pnpm test needs ${missing.length === 1 ? 'one thing' : `${missing.length} things`} this machine lacks (see the README's Prerequisites):\n${lines.join('\n')}`;
}
