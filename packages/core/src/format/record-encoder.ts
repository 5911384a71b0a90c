import type { ChangeRecords, DeadLetterValue, KafkaRecord, LifecycleRecordValue } from '../model/record.ts';
import { SCHEMA_BASE } from '../schemas/schema-ids.ts';
import { currentTraceparent } from '../trace/traceparent.ts';
import {
  CE_SPEC_VERSION,
  ceId,
  ceSource,
  ceSubject,
  ceType,
  DEAD_LETTER_CE_TYPE,
  LIFECYCLE_CE_TYPE_PREFIX,
  tombstoneCeId,
} from './cloudevents.ts';
import { jsonFormat } from './json-format.ts';
import type { ValueFormat } from './value-format.ts';
import type { CloudEventsMode } from '../config/kafka-config.ts';

export interface EncoderOptions {
  format: ValueFormat;
  cloudEvents: CloudEventsMode;
  /** The app registration's client id: CloudEvents' source is Event Grid's `/tenants/{t}/applications/{app}`. */
  appId: string;
}

/**
 * Turns what graph2kafka built into the records Kafka gets: the value in the configured format, and beside the
 * `g2k-*` headers the CloudEvents attributes and the `traceparent` of the work that wrote them. Keys and
 * tombstones are never touched, whatever the options: the compacted view is the same in every format.
 */
export class RecordEncoder {
  readonly format: ValueFormat;
  private readonly o: EncoderOptions;

  constructor(options: EncoderOptions) {
    this.o = options;
    this.format = options.format;
  }

  /** What a plain default looks like (tests and tools that build an EventProducer without configuration). */
  static plain(): RecordEncoder {
    return new RecordEncoder({ format: jsonFormat, cloudEvents: 'off', appId: '' });
  }

  /** What the format must do before it writes `change` to `topic` (a registry lookup); usually nothing. */
  prepare(topic: string, change: ChangeRecords): Promise<void> | undefined {
    return this.format.prepare?.(topic, change);
  }

  /** The value record, then for a confirmed absence its tombstone. */
  change(change: ChangeRecords, topic: string): KafkaRecord[] {
    const traceparent = currentTraceparent();
    const [valueRecord, tombstone] = change.records;
    const f = change.facts;
    const ce = this.o.cloudEvents === 'binary';
    const id = ce ? ceId(valueRecord!.key, f, change.item) : '';
    const common: Record<string, string> = ce
      ? {
          ce_specversion: CE_SPEC_VERSION,
          ce_source: ceSource(f.tenantId, this.o.appId),
          ce_type: ceType(change.kind.name, f.changeType),
          ce_subject: ceSubject(change.kind.name, change.itemId),
          ce_time: f.receivedAt,
        }
      : {};
    const out: KafkaRecord[] = [
      {
        key: valueRecord!.key,
        value: this.format.value(change, topic),
        headers: {
          ...valueRecord!.headers,
          'content-type': this.format.contentType,
          ...(ce ? { ...common, ce_id: id, ce_dataschema: this.format.schemaId(change) } : {}),
          traceparent,
        },
      },
    ];
    if (tombstone)
      out.push({
        key: tombstone.key,
        value: null,
        // No data, so no datacontenttype and no dataschema; the type is the change's (a delete, or a read that
        // found the item gone).
        headers: { ...tombstone.headers, ...(ce ? { ...common, ce_id: tombstoneCeId(id) } : {}), traceparent },
      });
    return out;
  }

  lifecycle(record: KafkaRecord, value: LifecycleRecordValue): KafkaRecord {
    return this.withCloudEvent(record, {
      // Graph's lifecycle notifications carry no id of their own: one per subscription, event and time.
      ce_id: `${value.subscriptionId}.${value.lifecycleEvent}.${value.subscriptionExpirationDateTime ?? value.receivedAt}`,
      ce_source: ceSource(value.tenantId, this.o.appId),
      ce_type: `${LIFECYCLE_CE_TYPE_PREFIX}${value.lifecycleEvent}`,
      ce_subject: `Subscriptions/${value.subscriptionId}`,
      ce_time: value.receivedAt,
      ce_dataschema: `${SCHEMA_BASE}lifecycle.value`,
    });
  }

  /** A dead letter keeps its value's bytes (a signature covers them); the headers are not signed. */
  deadLetter(record: KafkaRecord, letter: DeadLetterValue, subject: string): KafkaRecord {
    return this.withCloudEvent(record, {
      ce_id: `${letter.key}.${letter.deadLetteredAt}`,
      ce_source: ceSource(letter.tenantId, this.o.appId),
      ce_type: DEAD_LETTER_CE_TYPE,
      ce_subject: subject,
      ce_time: letter.deadLetteredAt,
      ce_dataschema: `${SCHEMA_BASE}dead-letter.value`,
    });
  }

  /** The record with its CloudEvents attributes (when on) and the task's traceparent. */
  private withCloudEvent(record: KafkaRecord, attributes: Record<string, string>): KafkaRecord {
    return {
      ...record,
      headers: {
        ...record.headers,
        ...(this.o.cloudEvents === 'binary' ? { ce_specversion: CE_SPEC_VERSION, ...attributes } : {}),
        traceparent: currentTraceparent(),
      },
    };
  }
}
