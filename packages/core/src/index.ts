/** Version of the JSON envelope graph2kafka writes to Kafka (docs/record-format.md). */
export const RECORD_SCHEMA_VERSION = 1;
