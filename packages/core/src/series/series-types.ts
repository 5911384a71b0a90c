import type { ExpansionWindow } from '../model/subscription.ts';

/** Names one recurring series: its master in a mailbox. */
export interface SeriesRef {
  tenantId: string;
  userId: string;
  masterId: string;
}

/**
 * What graph2kafka knows of a series master it produced: the subscription it came through and, when occurrences
 * are expanded, the window of the last expansion and the occurrences produced then, so the next expansion
 * tombstones exactly those that disappeared.
 */
export interface SeriesState extends SeriesRef {
  subscriptionId: string;
  select?: string;
  expand?: ExpansionWindow;
  /** The last expansion's window, ISO times; absent before the first one (or without expansion). */
  from?: string;
  to?: string;
  /** When the window next moves (the start of the next UTC day): the timer expands the series again then. */
  advanceAt?: string;
  occurrences: Array<{ id: string; originalStart: string }>;
  /** The master's `changeKey` the last expansion after a change was for (see `SeriesDue.masterVersion`). */
  masterVersion?: string;
  /**
   * Occurrences tombstoned while still inside the window: a resync's delta reports them removed again, and
   * must know them for occurrences (not events of their own).
   */
  retired?: Array<{ id: string; originalStart: string }>;
  updatedAt: string;
}

/** A series whose master changed and whose occurrences are owed an expansion (follow-up work, paced). */
export interface SeriesDue extends SeriesRef {
  subscriptionId: string;
  select?: string;
  expand?: ExpansionWindow;
  /** When the change was produced; a marker is cleared only if no newer change replaced it meanwhile. */
  changedAt: string;
  /**
   * The master's `changeKey` as read when its record was produced: a marker for the version the last expansion
   * was already for is cleared without reading the series again (a replayed or forged `updated` of an unchanged
   * master must not re-produce every occurrence). Graph changes the master with any of its occurrences.
   */
  masterVersion?: string;
  attempts: number;
  lastAttemptAt?: string;
}

/** Where a master record came from: enough to expand its series later. */
export interface SeriesOrigin {
  tenantId: string;
  /** The mailbox (lower-case object id). */
  userId: string;
  subscriptionId: string;
  select?: string | undefined;
  expand?: ExpansionWindow | undefined;
}

/** What one expansion run did. */
export interface ExpansionReport {
  /** Series expanded after their master changed. */
  expanded: number;
  /** Series whose window moved (a new day) and whose new occurrences were added. */
  advanced: number;
  /** Series Graph no longer has: their occurrences were tombstoned. */
  gone: number;
  /** Expansions that failed (Graph, Kafka); retried by the next run. */
  failed: number;
  /** Work the run's time did not reach. */
  left: number;
}
