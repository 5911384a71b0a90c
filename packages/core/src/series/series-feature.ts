import type { Feature } from '../model/feature.ts';
import { STATUS_LISTED, STATUS_THRESHOLDS } from '../model/status-thresholds.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import { seriesDueCollection } from './series-collections.ts';
import type { SeriesExpander } from './series-expander.ts';

/** Expanding recurring series (due ones, then windows that moved) takes the timer's third share. */
const SERIES_SHARE_MS = 90_000;

/** Series expansion's part of the timer run (due series, moved windows) and of the status report. */
export function seriesFeature(series: SeriesExpander, store: DocumentStore): Feature {
  const dueMarkers = new Collection(store, seriesDueCollection);
  return {
    timer: {
      name: 'series',
      shareMs: SERIES_SHARE_MS,
      async run(budget, progress) {
        const report = await series.drain(budget.deadline, { advance: true });
        if (report.expanded || report.advanced || report.gone || report.failed || report.left)
          progress(
            `series expanded ${report.expanded}, windows advanced ${report.advanced}, gone ${report.gone}, failed ${report.failed}, left ${report.left}`,
          );
        return { ...report };
      },
    },
    status: {
      name: 'series',
      async read({ now }) {
        const due = await dueMarkers.list({ limit: STATUS_LISTED });
        const atLeast = due.length >= STATUS_LISTED;
        const failing = due.filter((d) => d.attempts > 0);
        const oldest = due.reduce<string | null>((o, d) => (o === null || d.changedAt < o ? d.changedAt : o), null);
        const actions =
          failing.length && oldest && now - Date.parse(oldest) > STATUS_THRESHOLDS.repairWaitingHours * 3_600_000
            ? [
                `${failing.length} recurring series wait for their occurrence records since ${oldest} (expansion failing): check the timer's logs for "series expansion failed"`,
              ]
            : [];
        return {
          value: { due: due.length, atLeast, failing: failing.length },
          actions,
          lines: [
            `Series expansion: ${due.length}${atLeast ? '+' : ''} due${failing.length ? `, ${failing.length} after failures` : ''}`,
          ],
        };
      },
    },
  };
}
