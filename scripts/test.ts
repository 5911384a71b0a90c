// `pnpm test`: runs every package's jest tests against a real Kafka broker. It starts the project's local
// broker unless KAFKA_BROKERS points elsewhere or ours already runs, and stops only what it started, also on
// failure or Ctrl-C. Arguments are passed to jest (`pnpm test -- -t handshake`). It first checks what the
// machine must provide (Java, Maven, the PostgreSQL server, shellcheck) and names all that is missing.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KafkaLocalError, provideBroker } from '@graph2kafka/kafka-local';
import { missingPrerequisites, prerequisitesMessage } from '@graph2kafka/testkit/prerequisites';

const began = Date.now();
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

// `pnpm test -- <args>` hands the `--` on: passed to jest it would end its options, so `-t` or
// `--detectOpenHandles` after it would be taken for test paths.
const jestArgs = process.argv[2] === '--' ? process.argv.slice(3) : process.argv.slice(2);

function runJest(env: Record<string, string>): Promise<number> {
  const jest = path.resolve('node_modules', 'jest', 'bin', 'jest.js');
  // No --forceExit: the exit watchdog reporter (jest.config.js) fails a run that a leaked handle keeps alive,
  // naming what is open.
  const child = spawn(process.execPath, [jest, ...jestArgs], {
    stdio: 'inherit',
    env: { ...process.env, ...env, METADATA_SERVER_DETECTION: 'none' },
  });
  // The terminal already sends Ctrl-C to jest (same process group); a TERM from elsewhere is passed on.
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1))));
}

// Everything the machine lacks, in one message, before anything starts (a new machine learns the whole list
// from its first run instead of one item per failure).
// The whole suite needs everything; a chosen part of it (`pnpm test -- <args>`) at least the broker.
const missing = missingPrerequisites(process.env, jestArgs.length ? 'broker' : 'all');
if (missing.length) {
  console.error(`[test] ${prerequisitesMessage(missing)}`);
  process.exit(2);
}

let kafka: Awaited<ReturnType<typeof provideBroker>> | undefined;
let code = 1;
// Every test's temporary files (bundle installs, PostgreSQL data, pipeline folders) go under one folder that is
// removed when the run ends, however it ends: a run leaves nothing in the machine's temp folder.
const scratch = mkdtempSync(path.join(tmpdir(), 'g2k-test-'));
// Traversable by others (not listable): run as root, the PostgreSQL tests start the server as the postgres user
// in a data folder inside it.
chmodSync(scratch, 0o711);
try {
  kafka = await provideBroker((line) => console.log(`[test] ${line}`));
  code = await runJest({ ...kafka.env, TMPDIR: scratch });
} catch (error) {
  console.error(
    `[test] ${error instanceof KafkaLocalError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
} finally {
  await kafka
    ?.stop()
    .catch((error: unknown) => console.error(`[test] stopping the Kafka broker failed: ${String(error)}`));
  rmSync(scratch, { recursive: true, force: true });
  console.log(`[test] whole run took ${seconds(Date.now() - began)}`);
}
process.exit(code);
