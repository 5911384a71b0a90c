import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { KafkaSettings } from '../config/config.ts';

function tls(settings: KafkaSettings): ConnectionOptions | boolean | undefined {
  if (!settings.ssl) return undefined;
  if (!settings.sslCaPem && !settings.sslClientCert) return true;
  return {
    ...(settings.sslCaPem ? { ca: [settings.sslCaPem] } : {}),
    ...(settings.sslClientCert ?? {}),
  };
}

/** A kafkajs client for the configured brokers, TLS and SASL; `tuning` sets timeouts and retries per use. */
export function kafkaClient(
  settings: KafkaSettings,
  sasl: SASLOptions | undefined,
  tuning: Pick<KafkaConfig, 'connectionTimeout' | 'requestTimeout' | 'retry'> = {},
): Kafka {
  const ssl = tls(settings);
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ...(ssl ? { ssl } : {}),
    ...(sasl ? { sasl } : {}),
    ...tuning,
    logLevel: logLevel.NOTHING,
  });
}
