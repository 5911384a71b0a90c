import { occurrenceDates, type PatternedRecurrence } from '../src/recurrence.ts';

const days = (r: PatternedRecurrence, until = Date.UTC(2030, 0, 1)): string[] =>
  occurrenceDates(r, until).map((ms) => new Date(ms).toISOString().slice(0, 10));

describe('recurrence expansion (Graph patternedRecurrence, UTC)', () => {
  it('daily every other day, four occurrences', () => {
    expect(
      days({
        pattern: { type: 'daily', interval: 2 },
        range: { type: 'numbered', startDate: '2026-12-01', numberOfOccurrences: 4 },
      }),
    ).toEqual(['2026-12-01', '2026-12-03', '2026-12-05', '2026-12-07']);
  });

  it('weekly on Monday, Wednesday and Friday up to an end date (inclusive), starting mid-week', () => {
    expect(
      days({
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday', 'wednesday', 'friday'] },
        range: { type: 'endDate', startDate: '2026-12-02', endDate: '2026-12-14' },
      }),
    ).toEqual(['2026-12-02', '2026-12-04', '2026-12-07', '2026-12-09', '2026-12-11', '2026-12-14']);
  });

  it('every second week on Tuesday, counting weeks from the range start', () => {
    expect(
      days({
        pattern: { type: 'weekly', interval: 2, daysOfWeek: ['tuesday'], firstDayOfWeek: 'sunday' },
        range: { type: 'numbered', startDate: '2026-12-01', numberOfOccurrences: 3 },
      }),
    ).toEqual(['2026-12-01', '2026-12-15', '2026-12-29']);
  });

  it('monthly on day 31 falls on the last day of shorter months', () => {
    expect(
      days({
        pattern: { type: 'absoluteMonthly', interval: 1, dayOfMonth: 31 },
        range: { type: 'numbered', startDate: '2027-01-15', numberOfOccurrences: 4 },
      }),
    ).toEqual(['2027-01-31', '2027-02-28', '2027-03-31', '2027-04-30']);
  });

  it('monthly on the second Thursday, and on the last weekday', () => {
    expect(
      days({
        pattern: { type: 'relativeMonthly', interval: 1, daysOfWeek: ['thursday'], index: 'second' },
        range: { type: 'numbered', startDate: '2026-12-01', numberOfOccurrences: 3 },
      }),
    ).toEqual(['2026-12-10', '2027-01-14', '2027-02-11']);
    expect(
      days({
        pattern: {
          type: 'relativeMonthly',
          interval: 1,
          daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'],
          index: 'last',
        },
        range: { type: 'numbered', startDate: '2026-12-01', numberOfOccurrences: 2 },
      }),
    ).toEqual(['2026-12-31', '2027-01-29']);
  });

  it('yearly on 29 February (the 28th in common years) and on the last Monday of May', () => {
    expect(
      days({
        pattern: { type: 'absoluteYearly', interval: 1, month: 2, dayOfMonth: 29 },
        range: { type: 'numbered', startDate: '2027-01-01', numberOfOccurrences: 2 },
      }),
    ).toEqual(['2027-02-28', '2028-02-29']);
    expect(
      days({
        pattern: { type: 'relativeYearly', interval: 1, month: 5, daysOfWeek: ['monday'], index: 'last' },
        range: { type: 'numbered', startDate: '2026-12-01', numberOfOccurrences: 2 },
      }),
    ).toEqual(['2027-05-31', '2028-05-29']);
  });

  it('expands a series without end only up to the window', () => {
    expect(
      days(
        {
          pattern: { type: 'weekly', interval: 1, daysOfWeek: ['friday'] },
          range: { type: 'noEnd', startDate: '2026-12-01' },
        },
        Date.UTC(2026, 11, 31),
      ),
    ).toEqual(['2026-12-04', '2026-12-11', '2026-12-18', '2026-12-25']);
  });

  it('refuses what Graph refuses, saying what is wrong', () => {
    expect(() =>
      days({ pattern: { type: 'weekly', interval: 1 }, range: { type: 'noEnd', startDate: '2026-12-01' } }),
    ).toThrow(/a weekly recurrence needs daysOfWeek/);
    expect(() =>
      days({
        pattern: { type: 'daily', interval: 1 },
        range: { type: 'endDate', startDate: '2026-12-10', endDate: '2026-12-01' },
      }),
    ).toThrow(/endDate must not be before startDate/);
    expect(() =>
      days({ pattern: { type: 'absoluteMonthly', interval: 1 }, range: { type: 'noEnd', startDate: '2026-12-01' } }),
    ).toThrow(/needs dayOfMonth/);
  });
});
