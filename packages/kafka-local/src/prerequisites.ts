import { spawnSync } from 'node:child_process';
import { KafkaLocalError } from './errors.ts';

const MIN_JAVA = 17;

/** Parses the major version out of `java -version` output (`openjdk version "17.0.15"`, `"1.8.0_392"`). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/** Fails with a clear message unless `javaCommand` runs and is Java 17 or newer (Kafka 4.x's broker requires 17; 3.9's KRaft tools too). */
export function requireJava(javaCommand: string): number {
  const run = spawnSync(javaCommand, ['-version'], { encoding: 'utf8', timeout: 30_000 });
  if (run.error || run.status !== 0) {
    throw new KafkaLocalError(
      'JAVA_MISSING',
      `Java ${MIN_JAVA}+ is needed to run the local Kafka broker, but \`${javaCommand} -version\` failed (${run.error?.message ?? `exit ${run.status}`}). Install a JDK ${MIN_JAVA}+ (Debian: apt-get install openjdk-17-jre-headless), or set JAVA_HOME, or point at an existing Kafka with KAFKA_BROKERS.`,
    );
  }
  const major = parseJavaMajor(`${run.stderr}${run.stdout}`);
  if (major === undefined || major < MIN_JAVA) {
    throw new KafkaLocalError(
      'JAVA_TOO_OLD',
      `Java ${MIN_JAVA}+ is needed to run the local Kafka broker, but \`${javaCommand}\` is ${major ?? 'of an unknown version'}. Install a JDK ${MIN_JAVA}+ and set JAVA_HOME to it.`,
    );
  }
  return major;
}

/** Fails with a clear message unless Maven runs; it is only needed while the broker's jars are not cached. */
export function requireMaven(mavenCommand: string): void {
  const run = spawnSync(mavenCommand, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  if (run.error || run.status !== 0) {
    throw new KafkaLocalError(
      'MAVEN_MISSING',
      `Maven is needed once, to fetch the Kafka broker's jars from Maven Central, but \`${mavenCommand} --version\` failed (${run.error?.message ?? `exit ${run.status}`}). Install Maven (Debian: apt-get install maven), or set G2K_KAFKA_MVN to its path, or point at an existing Kafka with KAFKA_BROKERS.`,
    );
  }
}
