import { SimUsageError } from './errors.ts';

/** Graph's recurrencePattern (resources/recurrencepattern, v1.0). */
export interface RecurrencePattern {
  type: 'daily' | 'weekly' | 'absoluteMonthly' | 'relativeMonthly' | 'absoluteYearly' | 'relativeYearly';
  interval: number;
  /** 1–12, for the yearly types. */
  month?: number;
  /** 1–31, for the absolute monthly and yearly types. */
  dayOfMonth?: number;
  daysOfWeek?: DayOfWeek[];
  firstDayOfWeek?: DayOfWeek;
  /** Which of the month's matching days, for the relative types. */
  index?: 'first' | 'second' | 'third' | 'fourth' | 'last';
}

/** Graph's recurrenceRange: dates are `yyyy-mm-dd` in the range's time zone (graph-sim: UTC). */
export interface RecurrenceRange {
  type: 'endDate' | 'noEnd' | 'numbered';
  startDate: string;
  endDate?: string;
  numberOfOccurrences?: number;
  recurrenceTimeZone?: string;
}

export interface PatternedRecurrence {
  pattern: RecurrencePattern;
  range: RecurrenceRange;
}

export type DayOfWeek = 'sunday' | 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday';

const DAYS: readonly DayOfWeek[] = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const INDEXES = ['first', 'second', 'third', 'fourth', 'last'] as const;
const DAY_MS = 86_400_000;
/** No series in graph-sim expands past this many occurrences: an unbounded series is cut by the window. */
const MAX_OCCURRENCES = 10_000;

const dateMs = (date: string, field: string): number => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)))
    throw new SimUsageError(`recurrence ${field} must be a date yyyy-mm-dd, got ${JSON.stringify(date)}`);
  return Date.parse(`${date}T00:00:00Z`);
};

/** Checks a recurrence as Graph would before accepting it; throws what is wrong. */
export function checkRecurrence(r: PatternedRecurrence): void {
  const { pattern: p, range } = r;
  const kinds = ['daily', 'weekly', 'absoluteMonthly', 'relativeMonthly', 'absoluteYearly', 'relativeYearly'];
  if (!kinds.includes(p.type)) throw new SimUsageError(`recurrence pattern type must be one of ${kinds.join(', ')}`);
  if (!Number.isInteger(p.interval) || p.interval < 1 || p.interval > 99)
    throw new SimUsageError('recurrence pattern interval must be a whole number from 1 to 99');
  const needsDays = p.type === 'weekly' || p.type.startsWith('relative');
  if (needsDays && !(p.daysOfWeek?.length && p.daysOfWeek.every((d) => DAYS.includes(d))))
    throw new SimUsageError(`a ${p.type} recurrence needs daysOfWeek (${DAYS.join(', ')})`);
  if (p.type.startsWith('absolute') && !(Number.isInteger(p.dayOfMonth) && p.dayOfMonth! >= 1 && p.dayOfMonth! <= 31))
    throw new SimUsageError(`a ${p.type} recurrence needs dayOfMonth from 1 to 31`);
  if (p.type.endsWith('Yearly') && !(Number.isInteger(p.month) && p.month! >= 1 && p.month! <= 12))
    throw new SimUsageError(`a ${p.type} recurrence needs month from 1 to 12`);
  if (p.type.startsWith('relative') && p.index !== undefined && !INDEXES.includes(p.index))
    throw new SimUsageError(`recurrence pattern index must be one of ${INDEXES.join(', ')}`);
  const start = dateMs(range.startDate, 'range startDate');
  if (range.type === 'endDate') {
    if (!range.endDate) throw new SimUsageError('an endDate recurrence range needs endDate');
    if (dateMs(range.endDate, 'range endDate') < start)
      throw new SimUsageError('recurrence range endDate must not be before startDate');
  } else if (range.type === 'numbered') {
    const n = range.numberOfOccurrences;
    if (!Number.isInteger(n) || n! < 1)
      throw new SimUsageError('a numbered recurrence range needs numberOfOccurrences ≥ 1');
  } else if (range.type !== 'noEnd')
    throw new SimUsageError('recurrence range type must be endDate, noEnd or numbered');
}

/** The days of a month (UTC midnight, ms) that a relative pattern's index picks among the matching weekdays. */
function relativeDay(year: number, month: number, p: RecurrencePattern): number | undefined {
  const days = new Set(p.daysOfWeek!.map((d) => DAYS.indexOf(d)));
  const matching: number[] = [];
  for (let day = 1; day <= 31; day++) {
    const ms = Date.UTC(year, month, day);
    if (new Date(ms).getUTCMonth() !== month) break;
    if (days.has(new Date(ms).getUTCDay())) matching.push(ms);
  }
  const index = p.index ?? 'first';
  return index === 'last' ? matching.at(-1) : matching[INDEXES.indexOf(index)];
}

/** The day a month's absolute pattern falls on: dayOfMonth, or the month's last day when it is shorter. */
function absoluteDay(year: number, month: number, dayOfMonth: number): number {
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(dayOfMonth, last));
}

/**
 * The dates (UTC midnight, ms) on which a series occurs, in order: from the range's start to its end (or its
 * count), and never past `untilMs` (an unbounded series is expanded over a window only). Each occurrence starts
 * at the master's time of day on these dates.
 */
export function occurrenceDates(r: PatternedRecurrence, untilMs: number): number[] {
  checkRecurrence(r);
  const { pattern: p, range } = r;
  const start = dateMs(range.startDate, 'range startDate');
  const end = Math.min(range.type === 'endDate' ? dateMs(range.endDate!, 'range endDate') : Infinity, untilMs);
  const limit = range.type === 'numbered' ? range.numberOfOccurrences! : MAX_OCCURRENCES;
  const out: number[] = [];
  const take = (ms: number | undefined): boolean => {
    if (ms === undefined || ms < start) return true;
    if (ms > end || out.length >= limit) return false;
    out.push(ms);
    return true;
  };
  const first = new Date(start);
  if (p.type === 'daily') {
    for (let ms = start; take(ms); ms += p.interval * DAY_MS);
  } else if (p.type === 'weekly') {
    // Weeks begin on firstDayOfWeek (Sunday by default); every interval-th week from the range's first one.
    const weekStartDay = DAYS.indexOf(p.firstDayOfWeek ?? 'sunday');
    const weekStart = start - ((first.getUTCDay() - weekStartDay + 7) % 7) * DAY_MS;
    const offsets = p.daysOfWeek!.map((d) => (DAYS.indexOf(d) - weekStartDay + 7) % 7).sort((a, b) => a - b);
    weeks: for (let week = weekStart; ; week += p.interval * 7 * DAY_MS)
      for (const offset of offsets) if (!take(week + offset * DAY_MS)) break weeks;
  } else {
    const yearly = p.type.endsWith('Yearly');
    const step = yearly ? 12 * p.interval : p.interval;
    let year = first.getUTCFullYear();
    let month = yearly ? p.month! - 1 : first.getUTCMonth();
    if (yearly && month < first.getUTCMonth()) year++;
    for (;;) {
      const ms = p.type.startsWith('absolute') ? absoluteDay(year, month, p.dayOfMonth!) : relativeDay(year, month, p);
      if (!take(ms)) break;
      month += step;
      year += Math.floor(month / 12);
      month %= 12;
    }
  }
  return out;
}
