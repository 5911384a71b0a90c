import { KafkaLocalError } from './errors.ts';
import type { KafkaConnection } from './types.ts';

/** The environment variables through which tests and `pnpm dev` learn where Kafka is. */
export function connectionToEnv(connection: KafkaConnection): Record<string, string> {
  return {
    KAFKA_BROKERS: connection.brokers.join(','),
    KAFKA_SASL_BROKERS: connection.saslBrokers.join(','),
    KAFKA_SASL_PLAIN_USERNAME: connection.plainUser.username,
    KAFKA_SASL_PLAIN_PASSWORD: connection.plainUser.password,
    KAFKA_SASL_SCRAM_USERNAME: connection.scramUser.username,
    KAFKA_SASL_SCRAM_PASSWORD: connection.scramUser.password,
  };
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function required(env: NodeJS.ProcessEnv, name: string, purpose: string): string {
  const value = env[name];
  if (!value) {
    throw new KafkaLocalError(
      'NOT_CONFIGURED',
      `${name} is not set. Run the tests through \`pnpm test\`, which starts the local broker and sets it, or set it yourself ${purpose}.`,
    );
  }
  return value;
}

/** Plaintext brokers, for the tests that need nothing but a broker. */
export function brokersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return list(
    required(env, 'KAFKA_BROKERS', 'to a comma-separated list of host:port of a Kafka without authentication'),
  );
}

/** The full connection, SASL listener and users included, for the authentication tests. */
export function connectionFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaConnection {
  const sasl = 'to a SASL_PLAINTEXT listener and users of your Kafka (see README, "Use an existing Kafka")';
  return {
    brokers: brokersFromEnv(env),
    saslBrokers: list(required(env, 'KAFKA_SASL_BROKERS', sasl)),
    plainUser: {
      username: required(env, 'KAFKA_SASL_PLAIN_USERNAME', sasl),
      password: required(env, 'KAFKA_SASL_PLAIN_PASSWORD', sasl),
    },
    scramUser: {
      username: required(env, 'KAFKA_SASL_SCRAM_USERNAME', sasl),
      password: required(env, 'KAFKA_SASL_SCRAM_PASSWORD', sasl),
    },
  };
}
