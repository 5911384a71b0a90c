/**
 * When something needs an operator: the same thresholds as the alert rules in infra/ (docs/operations.md).
 * A subscription within a day of expiry has missed at least one day of renewals (the timer renews two days
 * ahead by default); Graph marks an endpoint slow when more than 10% of its answers take over 3 s.
 */
export const STATUS_THRESHOLDS = {
  expiryWithinHours: 24,
  timerSilentHours: 2,
  repairWaitingHours: 1,
  answersWindowMinutes: 15,
  serverErrorShare: 0.05,
  unenrichedShare: 0.1,
  slowShare: 0.1,
} as const;

/** Entries a status section lists at most (a backlog beyond is shown as "at least"). */
export const STATUS_LISTED = 10_000;
