import { Partitioners, type Producer, type SASLOptions } from 'kafkajs';
import type { KafkaSettings } from '../config/config.ts';
import type { KafkaRecord } from '../model/record.ts';
import { kafkaClient } from './client.ts';
import { PRODUCER_TIMING, type ProducerClient } from './producer-client.ts';

/** kafkajs' idempotent producer (one in flight per connection, as idempotence requires). */
export function kafkajsProducer(settings: KafkaSettings, sasl: SASLOptions | undefined): () => ProducerClient {
  const kafka = kafkaClient(settings, sasl, {
    connectionTimeout: PRODUCER_TIMING.connectMs,
    requestTimeout: PRODUCER_TIMING.requestMs,
    retry: {
      retries: PRODUCER_TIMING.retries,
      initialRetryTime: PRODUCER_TIMING.retryBaseMs,
      maxRetryTime: PRODUCER_TIMING.retryMaxMs,
    },
  });
  return () => {
    const producer: Producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    return {
      connect: () => producer.connect(),
      async send(byTopic: Map<string, KafkaRecord[]>) {
        await producer.sendBatch({
          acks: -1,
          timeout: PRODUCER_TIMING.requestMs,
          topicMessages: [...byTopic].map(([topic, records]) => ({
            topic,
            messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
          })),
        });
      },
      disconnect: () => producer.disconnect(),
    };
  };
}
