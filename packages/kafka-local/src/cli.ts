#!/usr/bin/env node
import { brokerStatus, startBroker, stopBroker } from './broker.ts';
import { connectionToEnv } from './connection.ts';
import { KafkaLocalError } from './errors.ts';
import { optionsFromEnv } from './options.ts';

const USAGE = `usage: kafka-local <start|stop|status|env>
  start   fetch the broker's jars if needed, start a single-node KRaft broker on 127.0.0.1, wait until it answers
  stop    stop the broker that start left running (only ours) and remove its data
  status  print whether our broker runs, and where
  env     print the KAFKA_* variables that point clients at the running broker`;

async function main(command: string | undefined): Promise<number> {
  const options = optionsFromEnv();
  switch (command) {
    case 'start': {
      const result = await startBroker(options);
      const { state } = result;
      const how = result.reused
        ? 'already running, reused'
        : `ready in ${(result.elapsedMs / 1000).toFixed(1)} s${result.jarsFetched ? ' (jars fetched from Maven Central)' : ''}`;
      console.log(
        `Kafka ${state.kafkaVersion} ${how}: PLAINTEXT ${state.connection.brokers.join(',')}, SASL_PLAINTEXT ${state.connection.saslBrokers.join(',')} (pid ${state.pid}, log ${state.logPath})`,
      );
      return 0;
    }
    case 'stop': {
      const outcome = await stopBroker(options);
      console.log(outcome === 'stopped' ? 'Kafka broker stopped.' : 'No Kafka broker of ours is running.');
      return 0;
    }
    case 'status': {
      const state = brokerStatus(options);
      if (!state) {
        console.log('No Kafka broker of ours is running.');
        return 3;
      }
      console.log(
        `Kafka ${state.kafkaVersion} running since ${state.startedAt}: PLAINTEXT ${state.connection.brokers.join(',')}, SASL_PLAINTEXT ${state.connection.saslBrokers.join(',')} (pid ${state.pid})`,
      );
      return 0;
    }
    case 'env': {
      const state = brokerStatus(options);
      if (!state)
        throw new KafkaLocalError(
          'NOT_CONFIGURED',
          'no Kafka broker of ours is running: start it with `pnpm kafka start`.',
        );
      for (const [name, value] of Object.entries(connectionToEnv(state.connection)))
        console.log(`export ${name}='${value}'`);
      return 0;
    }
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message =
      error instanceof KafkaLocalError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    console.error(`kafka-local: ${message}`);
    process.exit(1);
  },
);
