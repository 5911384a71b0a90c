export { RECORD_SCHEMA_VERSION } from '@graph2kafka/core';
