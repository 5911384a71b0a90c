import { HTTP, Kafka, type CloudEvent, type KafkaMessage } from 'cloudevents';
import type { ReadRecord } from './topic-reader.ts';

/**
 * A record read back from Kafka, decoded by the CloudEvents SDK (`cloudevents`, the spec's own JavaScript SDK)
 * and validated against CloudEvents 1.0 (`validate()` throws on a missing or malformed attribute). A value
 * record goes through the SDK's Kafka binding, binary mode. A tombstone cannot: the SDK's Kafka binding refuses
 * a null value ("Value is null or undefined"), although the binding spec keeps a null-value message a tombstone;
 * its attributes are decoded by the SDK's HTTP binding in binary mode instead (the same `ce_` attributes, as
 * `ce-` headers, and no body), so they are held to the same rules.
 */
export function decodeCloudEvent(record: ReadRecord): CloudEvent<unknown> {
  let event: CloudEvent<unknown>;
  if (record.value === null) {
    const headers = Object.fromEntries(
      Object.entries(record.headers)
        .filter(([name]) => name.startsWith('ce_'))
        .map(([name, v]) => [`ce-${name.slice(3)}`, v]),
    );
    // What the Kafka binding makes of the record key.
    if (record.key !== null) headers['ce-partitionkey'] = record.key;
    event = HTTP.toEvent({ headers, body: undefined }) as CloudEvent<unknown>;
  } else {
    const message: KafkaMessage<string> = {
      key: record.key ?? '',
      value: record.value,
      body: record.value,
      headers: record.headers,
    };
    const decoded = Kafka.toEvent(message);
    if (Array.isArray(decoded)) throw new Error('a batch of CloudEvents where one binary-mode record was expected');
    event = decoded as CloudEvent<unknown>;
  }
  event.validate();
  return event;
}
