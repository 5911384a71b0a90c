import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { KafkaLocalError } from './errors.ts';
import { renderPom } from './pom.ts';
import { requireMaven } from './prerequisites.ts';
import type { KafkaLocalOptions } from './types.ts';

const COMPLETE_MARKER = '.complete';
const FETCH_TIMEOUT_MS = 10 * 60_000;
const NETWORK_FAILURE =
  /(Could not transfer artifact|Could not resolve|UnknownHost|Connection refused|connect timed out|Network is unreachable|No route to host|Connection reset|Read timed out)/i;

export function libsDir(options: Pick<KafkaLocalOptions, 'home' | 'kafkaVersion'>): string {
  return path.join(options.home, 'dist', options.kafkaVersion, 'libs');
}

function mavenArgs(options: KafkaLocalOptions, pomPath: string, outputDir: string): string[] {
  const args = [
    '-B',
    '-q',
    '-f',
    pomPath,
    '-Dstyle.color=never',
    // Pinned, so that a fetch is reproducible and a failure names the artifact it could not get.
    'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
    `-DoutputDirectory=${outputDir}`,
    '-DincludeScope=runtime',
    // A dead network must fail in seconds, not after Maven's long default retries.
    '-Dmaven.wagon.http.retryHandler.count=1',
    '-Dmaven.wagon.rto=30000',
  ];
  if (options.mavenSettings) args.push('-s', options.mavenSettings);
  if (options.mavenLocalRepo) args.push(`-Dmaven.repo.local=${options.mavenLocalRepo}`);
  return args;
}

/** The lines of Maven's output that say what went wrong, without the download noise. */
function errorLines(output: string): string {
  const lines = stripVTControlCharacters(output)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('[ERROR]') && !/^\[ERROR\]\s*(->|$|Re-run|For more|\[Help)/.test(line));
  return (lines.slice(0, 2).join(' ') || output.trim().split('\n').slice(-3).join(' ')).slice(0, 600);
}

/**
 * Makes sure the broker's jars for `options.kafkaVersion` are in the cache, fetching them from Maven Central
 * once. A half-finished fetch never counts: jars land in a temp folder that is renamed only when complete.
 */
export function ensureJars(options: KafkaLocalOptions): { dir: string; fetched: boolean } {
  const dir = libsDir(options);
  if (existsSync(path.join(dir, COMPLETE_MARKER))) return { dir, fetched: false };

  requireMaven(options.mavenCommand);
  const work = `${dir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const pomPath = path.join(work, 'pom.xml');
  writeFileSync(pomPath, renderPom(options.kafkaVersion));
  const libs = path.join(work, 'libs');

  const run = spawnSync(options.mavenCommand, mavenArgs(options, pomPath, libs), {
    encoding: 'utf8',
    timeout: FETCH_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  if (run.error || run.status !== 0) {
    rmSync(work, { recursive: true, force: true });
    const what = `org.apache.kafka:kafka_2.13:${options.kafkaVersion}`;
    if (run.error && (run.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
      throw new KafkaLocalError(
        'MAVEN_FETCH_FAILED',
        `fetching ${what} with Maven took longer than ${FETCH_TIMEOUT_MS / 60_000} min and was stopped. Check the connection to Maven Central, or set G2K_KAFKA_MAVEN_SETTINGS to a settings.xml with a reachable mirror.`,
      );
    }
    if (NETWORK_FAILURE.test(output)) {
      throw new KafkaLocalError(
        'MAVEN_FETCH_FAILED',
        `could not download ${what} from Maven Central: it is unreachable from here (${errorLines(output)}). Check the network or proxy, or set G2K_KAFKA_MAVEN_SETTINGS to a settings.xml with a reachable mirror, or point at an existing Kafka with KAFKA_BROKERS.`,
      );
    }
    throw new KafkaLocalError(
      'MAVEN_FETCH_FAILED',
      `Maven could not fetch ${what} (exit ${run.status}): ${errorLines(output)}. Check that the version exists on Maven Central (G2K_KAFKA_VERSION).`,
    );
  }
  if (!existsSync(libs) || !readdirSync(libs).some((name) => name.startsWith('kafka_2.13-'))) {
    rmSync(work, { recursive: true, force: true });
    throw new KafkaLocalError(
      'MAVEN_FETCH_FAILED',
      `Maven finished but left no broker jar in ${libs}; run again with G2K_KAFKA_VERSION set to a released version.`,
    );
  }
  writeFileSync(path.join(libs, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
  mkdirSync(path.dirname(dir), { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(libs, dir);
  rmSync(work, { recursive: true, force: true });
  return { dir, fetched: true };
}
