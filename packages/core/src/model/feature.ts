import type { SubscriptionRecord } from './subscription.ts';
import type { Budget } from './budget.ts';

/** A task's figures for the timer's report and log (`repaired`, `left` …). */
export type TaskFigures = Record<string, number>;

/**
 * What a feature adds to the timer's run. The run gives each task, in turn, a part of its budget no longer than
 * the task's share; the task does what fits and leaves the rest to the next run.
 */
export interface TimerTask {
  /** Its figures' name in the run's report (`repair`, `series`). */
  readonly name: string;
  readonly shareMs: number;
  run(budget: Budget, progress: (line: string) => void): Promise<TaskFigures>;
}

/** What a feature adds to `graph2kafka status`: its figures, the actions they call for, its lines of the text. */
export interface StatusPart {
  value: unknown;
  actions: string[];
  lines: string[];
}

/** What every status section may read: the stored subscriptions, read once per report. */
export interface StatusContext {
  now: number;
  subscriptions: readonly SubscriptionRecord[];
}

export interface StatusSection {
  /** Its figures' name in the report (`repair`, `deadLetters`). */
  readonly name: string;
  read(context: StatusContext): Promise<StatusPart>;
}

/** A feature's registration: what it adds to the timer's run and to the status report. */
export interface Feature {
  timer?: TimerTask;
  status?: StatusSection;
}
