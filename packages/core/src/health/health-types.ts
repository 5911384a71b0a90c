/**
 * What the functions leave for `graph2kafka status`: one record per timer run, and per instance and window a
 * summary of the answers it gave Graph. Small, few (pruned by the timer), never on Graph's answer path.
 */
export type HealthRecord = TimerRunRecord | AnswerWindowRecord;

export interface TimerRunRecord {
  type: 'timer_run';
  /** `timer-<start ms>`: ids sort by time. */
  id: string;
  startedAt: string;
  seconds: number;
  ok: boolean;
  /** The first errors of the run (tenant problems, Graph refusals), for the operator. */
  errors: string[];
  created: number;
  renewed: number;
  recreated: number;
  deferred: number;
  repaired: number;
  repairLeft: number;
}

export interface AnswerWindowRecord {
  type: 'answers';
  /** `answers-<window start ms>-<instance>`. */
  id: string;
  instance: string;
  from: string;
  to: string;
  /** POSTs by HTTP status. */
  statuses: Record<string, number>;
  /** POSTs answered after 2,900 ms. */
  slow: number;
  items: {
    produced: number;
    rejected: number;
    deadLettered: number;
    retryLater: number;
    unenriched: number;
    /**
     * Of `unenriched`: items past a POST's read limit. Graph's POSTs stay under it; made-up ids sent with one
     * subscription's clientState do not. Absent in records of earlier versions.
     */
    readLimited?: number;
  };
}
