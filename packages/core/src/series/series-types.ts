import type { ExpansionWindow } from '../model/subscription.ts';

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
