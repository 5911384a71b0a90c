// `pnpm test`: runs every package's jest tests against a real Kafka broker. It starts the project's local
// broker unless KAFKA_BROKERS points elsewhere or ours already runs, and stops only what it started, also on
// failure or Ctrl-C. Arguments are passed to jest (`pnpm test -- -t handshake`).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { connectionToEnv, KafkaLocalError, optionsFromEnv, startBroker, stopBroker } from '@graph2kafka/kafka-local';

const began = Date.now();
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function provideKafka(): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  if (process.env.KAFKA_BROKERS) {
    console.log(`[test] using the Kafka at KAFKA_BROKERS=${process.env.KAFKA_BROKERS}`);
    return { env: {}, stop: () => Promise.resolve() };
  }
  const options = optionsFromEnv();
  const result = await startBroker(options);
  const { state } = result;
  if (result.reused) {
    console.log(
      `[test] reusing our running Kafka ${state.kafkaVersion} broker (pid ${state.pid}); it stays up afterwards`,
    );
    return { env: connectionToEnv(state.connection), stop: () => Promise.resolve() };
  }
  console.log(
    `[test] Kafka ${state.kafkaVersion} broker start-up took ${seconds(result.elapsedMs)}${result.jarsFetched ? ' (jars fetched from Maven Central)' : ''}`,
  );
  return {
    env: connectionToEnv(state.connection),
    stop: async () => {
      await stopBroker(options);
      console.log('[test] Kafka broker stopped');
    },
  };
}

function runJest(env: Record<string, string>): Promise<number> {
  const jest = path.resolve('node_modules', 'jest', 'bin', 'jest.js');
  // --forceExit: a failing test that leaves a server open must fail the run, not hang it until CI's timeout.
  const child = spawn(process.execPath, [jest, '--forceExit', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, ...env, METADATA_SERVER_DETECTION: 'none' },
  });
  // The terminal already sends Ctrl-C to jest (same process group); a TERM from elsewhere is passed on.
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1))));
}

let kafka: Awaited<ReturnType<typeof provideKafka>> | undefined;
let code = 1;
try {
  kafka = await provideKafka();
  code = await runJest(kafka.env);
} catch (error) {
  console.error(
    `[test] ${error instanceof KafkaLocalError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
} finally {
  await kafka
    ?.stop()
    .catch((error: unknown) => console.error(`[test] stopping the Kafka broker failed: ${String(error)}`));
  console.log(`[test] whole run took ${seconds(Date.now() - began)}`);
}
process.exit(code);
