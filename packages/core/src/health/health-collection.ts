import { defineCollection } from '../state/collection.ts';
import type { HealthRecord } from './health-types.ts';

/** What the functions leave for `graph2kafka status`, by the record's own id (ids sort by time). */
export const healthCollection = defineCollection<HealthRecord>({
  name: 'health',
  folder: 'health',
  id: (record) => record.id,
});
