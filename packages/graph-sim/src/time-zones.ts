import { DateTime, IANAZone } from 'luxon';
import { findIana, findWindows } from 'windows-iana';
import { SimUsageError } from './errors.ts';

/**
 * A time zone as Graph names it (Windows names such as "Pacific Standard Time" are what Outlook writes; IANA
 * names are accepted too) and the IANA zone whose rules (DST included) graph-sim computes with. The mapping is
 * CLDR's windowsZones (the windows-iana package); the rules are the ICU data Node carries, through Luxon.
 */
export interface SimZone {
  /** The name as the caller gave it, which Graph echoes (originalStartTimeZone, recurrenceTimeZone). */
  graphName: string;
  iana: string;
}

export const UTC_ZONE: SimZone = { graphName: 'UTC', iana: 'UTC' };

/** A zone from a Windows or IANA name; a name neither knows is the caller's error, as Graph refuses it. */
export function resolveZone(name: string | undefined): SimZone {
  if (name === undefined || name === 'UTC' || name === 'Etc/UTC')
    return name ? { graphName: name, iana: 'UTC' } : UTC_ZONE;
  const windows = findIana(name);
  if (windows?.[0]) return { graphName: name, iana: windows[0] };
  if (IANAZone.isValidZone(name)) return { graphName: name, iana: name };
  throw new SimUsageError(
    `unknown time zone ${JSON.stringify(name)}: give a Windows name (e.g. "Pacific Standard Time") or an IANA one (e.g. "America/Los_Angeles")`,
  );
}

/** The Windows name of a zone, as Outlook reports a zone set in IANA form (falls back to the name itself). */
export const windowsName = (zone: SimZone): string =>
  zone.iana === 'UTC' ? 'UTC' : (findWindows(zone.iana)?.[0] ?? zone.graphName);

const at = (ms: number, zone: SimZone): DateTime => DateTime.fromMillis(ms, { zone: zone.iana });

/** Graph's `dateTimeTimeZone.dateTime` of an instant in a zone: local time, no offset, seven fractional digits. */
export const localDateTime = (ms: number, zone: SimZone): string =>
  `${at(ms, zone).toFormat("yyyy-MM-dd'T'HH:mm:ss")}.0000000`;

/** The local calendar date of an instant in a zone, `yyyy-mm-dd`. */
export const localDate = (ms: number, zone: SimZone): string => at(ms, zone).toFormat('yyyy-MM-dd');

/** The wall-clock time of day of an instant in a zone, in milliseconds (09:00 is 9 h, whatever DST does). */
export function localTimeOfDay(ms: number, zone: SimZone): number {
  const local = at(ms, zone);
  return ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000 + local.millisecond;
}

/**
 * The instant at which a local date (given as the UTC midnight of that date, as recurrence.ts counts dates) and
 * local time of day fall in a zone. A time that a DST change skips moves forward, as Outlook moves it.
 */
export function instantAt(dateAsUtcMidnight: number, timeOfDayMs: number, zone: SimZone): number {
  const date = DateTime.fromMillis(dateAsUtcMidnight, { zone: 'UTC' });
  const hours = Math.floor(timeOfDayMs / 3_600_000);
  const minutes = Math.floor((timeOfDayMs % 3_600_000) / 60_000);
  const seconds = Math.floor((timeOfDayMs % 60_000) / 1_000);
  return DateTime.fromObject(
    { year: date.year, month: date.month, day: date.day, hour: hours, minute: minutes, second: seconds },
    { zone: zone.iana },
  ).toMillis();
}

/** Whether an instant is a local midnight in a zone (what an all-day event's start and end must be). */
export const isLocalMidnight = (ms: number, zone: SimZone): boolean => localTimeOfDay(ms, zone) === 0;
