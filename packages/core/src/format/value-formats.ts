import { debeziumFormat } from './debezium-format.ts';
import { jsonFormat } from './json-format.ts';
import type { ValueFormatName } from '../config/kafka-config.ts';
import type { ValueFormat } from './value-format.ts';

/** Each G2K_VALUE_FORMAT's writer: a format added is one entry here and one in VALUE_FORMATS. */
export const VALUE_FORMAT_WRITERS: Readonly<Record<ValueFormatName, ValueFormat>> = {
  json: jsonFormat,
  debezium: debeziumFormat,
};
