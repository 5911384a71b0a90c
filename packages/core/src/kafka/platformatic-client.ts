import type { ConnectionOptions } from 'node:tls';
import type * as PlatformaticKafka from '@platformatic/kafka';
import type { SASLOptions } from 'kafkajs';
import type { KafkaSettings } from '../config/config.ts';
import { KafkaAuthError } from '../errors.ts';
import type { KafkaRecord } from '../model/record.ts';
import { PRODUCER_TIMING, type ProducerClient } from './producer-client.ts';

type Platformatic = typeof PlatformaticKafka;
type PlatformaticSasl = NonNullable<ConstructorParameters<Platformatic['Producer']>[0]['sasl']>;

/** The same SASL settings in @platformatic/kafka's form; OAUTHBEARER tokens come from the same providers. */
function saslFor(sasl: SASLOptions | undefined): PlatformaticSasl | undefined {
  if (!sasl) return undefined;
  if (sasl.mechanism === 'oauthbearer') {
    const provider = sasl.oauthBearerProvider;
    return {
      mechanism: 'OAUTHBEARER',
      token: async () => {
        const { value } = await provider();
        if (!value) throw new KafkaAuthError('the OAUTHBEARER provider returned no token');
        return value;
      },
    };
  }
  if (sasl.mechanism === 'aws') throw new KafkaAuthError('SASL AWS is not supported by graph2kafka');
  const mechanism = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;
  return { mechanism: mechanism[sasl.mechanism], username: sasl.username, password: sasl.password };
}

function tlsFor(settings: KafkaSettings): ConnectionOptions | undefined {
  if (!settings.ssl) return undefined;
  return {
    ...(settings.sslCaPem ? { ca: [settings.sslCaPem] } : {}),
    ...(settings.sslClientCert ?? {}),
  };
}

/**
 * @platformatic/kafka's idempotent producer. Keys go to partitions by Java's murmur2 rule (its
 * `compatibilityPartitioner`, as kafkajs' DefaultPartitioner), so switching KAFKA_CLIENT keeps every key on its
 * partition and per-key order holds across the switch. Loaded on first use, so kafkajs users never load it.
 */
export function platformaticProducer(settings: KafkaSettings, sasl: SASLOptions | undefined): () => ProducerClient {
  let library: Promise<Platformatic> | undefined;
  const auth = saslFor(sasl);
  const tls = tlsFor(settings);
  return () => {
    let producer: PlatformaticKafka.Producer<string, string, string, string> | undefined;
    return {
      async connect() {
        const kafka = await (library ??= import('@platformatic/kafka'));
        const created = new kafka.Producer<string, string, string, string>({
          clientId: settings.clientId,
          bootstrapBrokers: settings.brokers,
          idempotent: true,
          acks: kafka.ProduceAcks.ALL,
          partitioner: kafka.compatibilityPartitioner,
          serializers: kafka.stringSerializers,
          // As kafkajs' producer does: a topic that does not exist yet is created by the broker's defaults.
          autocreateTopics: true,
          connectTimeout: PRODUCER_TIMING.connectMs,
          requestTimeout: PRODUCER_TIMING.requestMs,
          timeout: PRODUCER_TIMING.requestMs,
          retries: PRODUCER_TIMING.retries,
          retryDelay: PRODUCER_TIMING.retryBaseMs,
          ...(tls ? { tls } : {}),
          ...(auth ? { sasl: auth } : {}),
        });
        producer = created;
        await created.initIdempotentProducer({});
      },
      async send(byTopic: Map<string, KafkaRecord[]>) {
        if (!producer) throw new Error('the producer is not connected');
        await producer.send({
          messages: [...byTopic].flatMap(([topic, records]) =>
            records.map((r) => ({
              topic,
              key: r.key,
              // A tombstone: the serializer leaves a value that is not a string out, which Kafka stores as null.
              value: r.value ?? undefined,
              headers: r.headers,
            })),
          ),
        });
      },
      async disconnect() {
        await producer?.close(true);
      },
    };
  };
}
