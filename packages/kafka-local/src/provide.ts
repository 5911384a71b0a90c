import { brokerStatus, startBroker, stopBroker } from './broker.ts';
import { connectionToEnv } from './connection.ts';
import { optionsFromEnv } from './options.ts';

export interface ProvidedBroker {
  /** Variables that point clients at the broker (empty when KAFKA_BROKERS was already set). */
  env: Record<string, string>;
  brokers: string[];
  /** Stops the broker if this call started it; a broker found running or given by KAFKA_BROKERS stays. */
  stop(): Promise<void>;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** A Kafka for a run: the one in KAFKA_BROKERS, our running local broker, or a freshly started one. */
export async function provideBroker(
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProvidedBroker> {
  if (env.KAFKA_BROKERS) {
    log(`using the Kafka at KAFKA_BROKERS=${env.KAFKA_BROKERS}`);
    return { env: {}, brokers: env.KAFKA_BROKERS.split(','), stop: () => Promise.resolve() };
  }
  const options = optionsFromEnv(env);
  const result = await startBroker(options);
  const { state } = result;
  const brokers = state.connection.brokers;
  if (result.reused) {
    log(`reusing our running Kafka ${state.kafkaVersion} broker (pid ${state.pid}); it stays up afterwards`);
    return { env: connectionToEnv(state.connection), brokers, stop: () => Promise.resolve() };
  }
  log(
    `Kafka ${state.kafkaVersion} broker start-up took ${seconds(result.elapsedMs)}${result.jarsFetched ? ' (jars fetched from Maven Central)' : ''}`,
  );
  return {
    env: connectionToEnv(state.connection),
    brokers,
    stop: async () => {
      if (brokerStatus(options)) await stopBroker(options);
      log('Kafka broker stopped');
    },
  };
}
