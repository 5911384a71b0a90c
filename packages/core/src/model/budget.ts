/**
 * Every deadline graph2kafka keeps, in one place: a POST's, inside Graph's 3 s answer, and a timer run's, inside
 * the 10 minutes a run is designed for. Code below asks a budget for its deadline instead of adding literals to
 * `Date.now()`, so what a part may spend is read here, beside what the whole may.
 */

/**
 * When a POST's answer leaves, counted from its arrival. Graph's budget is 3 s; it counts an answer after that
 * as a failure and as "slow", so the answer leaves with a margin for the platform and the network.
 */
export const ANSWER_BY_MS = 2_700;
/** Kafka always gets at least this long to acknowledge, even when enrichment used the whole time budget. */
export const MIN_PRODUCE_MS = 500;
/**
 * A timer run is designed to end within 10 minutes (GCP HTTP functions allow 60, Azure Flex Consumption what is
 * configured). Its tasks take their shares in turn; what does not fit waits for the next run.
 */
export const TIMER_RUN_MS = 10 * 60_000;
/**
 * One step of background work (a round of repair reads, a produce of their records or of a series' occurrences)
 * before its task moves on: a slow Graph or broker delays a drain by this much, not by the whole drain's share.
 */
export const BACKGROUND_STEP_MS = 10_000;
/** No read waits longer than this, whoever asks (a resync without a deadline of its own still gets an answer). */
export const LONGEST_READ_MS = 30_000;

/** A deadline on a clock, and parts of it. */
export class Budget {
  readonly deadline: number;
  private readonly clock: () => number;

  constructor(deadline: number, clock: () => number = Date.now) {
    this.deadline = deadline;
    this.clock = clock;
  }

  /** `ms` from now. */
  static of(ms: number, clock: () => number = Date.now): Budget {
    return new Budget(clock() + ms, clock);
  }

  /** Milliseconds left, never below zero. */
  left(): number {
    return Math.max(0, this.deadline - this.clock());
  }

  spent(): boolean {
    return this.clock() >= this.deadline;
  }

  /** At most `ms` of this budget, from now: a part never outlives the whole. */
  part(ms: number): Budget {
    return new Budget(Math.min(this.deadline, this.clock() + ms), this.clock);
  }
}

/** The deadlines of one notification POST, from when it arrived. */
export class PostBudget {
  readonly receivedAt: number;
  /** Enrichment (reads, decryption, the key fence) ends by then: G2K_TIME_BUDGET_MS after arrival. */
  readonly enrichBy: number;
  /** The answer leaves by then. */
  readonly answerBy: number;
  private readonly clock: () => number;

  constructor(receivedAt: number, enrichMs: number, clock: () => number = Date.now) {
    this.receivedAt = receivedAt;
    this.enrichBy = receivedAt + enrichMs;
    this.answerBy = receivedAt + ANSWER_BY_MS;
    this.clock = clock;
  }

  /** The enrichment's budget. */
  enrichment(): Budget {
    return new Budget(this.enrichBy, this.clock);
  }

  /** When Kafka must have acknowledged: the answer leaves by then, yet Kafka always gets a moment. */
  produceBy(): number {
    return Math.max(this.answerBy, this.clock() + MIN_PRODUCE_MS);
  }
}
