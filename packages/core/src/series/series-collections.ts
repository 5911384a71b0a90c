import { createHash } from 'node:crypto';
import { defineCollection } from '../state/collection.ts';
import type { SeriesDue, SeriesRef, SeriesState } from './series-types.ts';

const hex = (text: string, length: number): string => createHash('sha256').update(text).digest('hex').slice(0, length);

/** The id prefix all series of one mailbox share, so a mailbox's series list by a range of ids. */
export const seriesOwnerPrefix = (tenantId: string, userId: string): string =>
  `series-${hex(`${tenantId.toLowerCase()}/${userId.toLowerCase()}`, 24)}-`;

/** The store id of a series (its state and its due marker share it): its mailbox's prefix, then its master. */
export const seriesId = (ref: SeriesRef): string =>
  `${seriesOwnerPrefix(ref.tenantId, ref.userId)}${hex(`${ref.tenantId.toLowerCase()}/${ref.userId.toLowerCase()}/${ref.masterId}`, 32)}`;

/** Series produced, by `seriesId`; listed by mailbox (`seriesOwnerPrefix`) and by when their window moves. */
export const seriesCollection = defineCollection<SeriesState, SeriesRef>({
  name: 'series',
  folder: 'series',
  id: seriesId,
  index: 'advanceAt',
});

/** Series whose master changed and whose occurrences are owed an expansion, by `seriesId` too. */
export const seriesDueCollection = defineCollection<SeriesDue, SeriesRef>({
  name: 'seriesdue',
  folder: 'series-due',
  id: seriesId,
});
