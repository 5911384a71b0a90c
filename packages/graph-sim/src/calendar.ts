import { Calendars, DEFAULT_CALENDAR_REF } from './calendars.ts';
import { SimUsageError } from './errors.ts';
import { changeKey, outlookId } from './ids.ts';
import { checkRecurrence, occurrenceDates, type PatternedRecurrence } from './recurrence.ts';
import {
  instantAt,
  isLocalMidnight,
  localDate,
  localDateTime,
  localTimeOfDay,
  resolveZone,
  UTC_ZONE,
  type SimZone,
} from './time-zones.ts';
import type { ChangeType, SimUser } from './types.ts';

/** The Graph `event` properties a `$select` may name (resources/event, v1.0). */
export const EVENT_PROPERTIES = new Set([
  'allowNewTimeProposals',
  'attendees',
  'body',
  'bodyPreview',
  'cancelledOccurrences',
  'categories',
  'changeKey',
  'createdDateTime',
  'end',
  'hasAttachments',
  'hideAttendees',
  'iCalUId',
  'id',
  'importance',
  'isAllDay',
  'isCancelled',
  'isDraft',
  'isOnlineMeeting',
  'isOrganizer',
  'isReminderOn',
  'lastModifiedDateTime',
  'location',
  'locations',
  'occurrenceId',
  'onlineMeeting',
  'onlineMeetingProvider',
  'onlineMeetingUrl',
  'organizer',
  'originalEndTimeZone',
  'originalStart',
  'originalStartTimeZone',
  'recurrence',
  'reminderMinutesBeforeStart',
  'responseRequested',
  'responseStatus',
  'sensitivity',
  'seriesMasterId',
  'showAs',
  'start',
  'subject',
  'transactionId',
  'type',
  'webLink',
]);

/** What the control API lets a test set on an event. */
export interface EventInput {
  subject?: string;
  body?: string;
  start?: string;
  end?: string;
  location?: string;
  attendees?: string[];
  categories?: string[];
  isAllDay?: boolean;
  isCancelled?: boolean;
  /**
   * The zone the event is written in (Windows or IANA name; default UTC): Graph's originalStartTimeZone, the
   * zone a series repeats in unless its range names a recurrenceTimeZone, and the zone of an all-day event's dates.
   */
  timeZone?: string;
  showAs?: 'free' | 'tentative' | 'busy' | 'oof' | 'workingElsewhere';
  importance?: 'low' | 'normal' | 'high';
  /** Makes the event a series master: its start and end are the first occurrence's time of day and length. */
  recurrence?: PatternedRecurrence;
}

const INPUT_KEYS = new Set([
  'subject',
  'body',
  'start',
  'end',
  'location',
  'attendees',
  'categories',
  'isAllDay',
  'isCancelled',
  'timeZone',
  'showAs',
  'importance',
  'recurrence',
]);

export interface StoredEvent {
  immutableId: string;
  restId: string;
  userId: string;
  calendarId: string;
  /** Global change sequence number of the last change; delta tokens are positions in this sequence. */
  seq: number;
  createdMs: number;
  modifiedMs: number;
  changeKey: string;
  iCalUId: string;
  input: Required<Omit<EventInput, 'start' | 'end' | 'recurrence'>>;
  startMs: number;
  endMs: number;
  /** A series master's pattern and range; its occurrences exist only as expansions of it. */
  recurrence?: PatternedRecurrence;
  /** A master's cancelled occurrences, by original start. */
  cancelled?: Set<number>;
  /** A master's changed occurrences (type `exception`), by original start. */
  exceptions?: Map<number, OccurrenceChange>;
  /**
   * Occurrences that left the series (cancelled, or dropped by a change of its recurrence), by original start,
   * with the change number that removed them: a delta round reports them `@removed`.
   */
  retired?: Map<number, number>;
}

/** What changed in one occurrence that became an exception. */
export interface OccurrenceChange {
  input: Partial<Omit<EventInput, 'start' | 'end' | 'recurrence'>>;
  startMs: number;
  endMs: number;
  modifiedMs: number;
  changeKey: string;
}

/** One occurrence of a series: the master it expands, and where this one falls. */
export interface Occurrence {
  master: StoredEvent;
  /** Its original start, which also names it (`occurrenceId`). */
  originalStartMs: number;
  startMs: number;
  endMs: number;
  /** Set when the occurrence was changed on its own: it is an `exception` then. */
  change?: OccurrenceChange;
}

const DAY_MS = 86_400_000;
const SERIES_HORIZON_MS = 5 * 366 * DAY_MS;
const OCCURRENCE_ID = /^(.+)_(\d{8}T\d{6})Z$/;
const stamp = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]|\.\d+/g, '')
    .slice(0, 15);

/** An occurrence's id: its master's id (in the same flavour) and its original start, as Graph's ids carry both. */
export const occurrenceId = (masterId: string, startMs: number): string => `${masterId}_${stamp(startMs)}Z`;

export interface Removal {
  seq: number;
  userId: string;
  /** The calendar the event left: a delta round of that calendar reports it. */
  calendarId: string;
  restId: string;
  immutableId: string;
  /** A move: the event lives on in another calendar, under its immutable id and a new REST id. */
  restOnly: boolean;
  /** A deleted series master as it was: its occurrences went with it, and calendarView/delta reports each. */
  series?: StoredEvent;
}

export interface CalendarChange {
  type: ChangeType;
  event: StoredEvent;
  /** For a move: the REST id and the calendar the event had before. */
  previousRestId?: string;
  previousCalendarId?: string;
  moved?: boolean;
}

function parseTime(value: unknown, field: string): number {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
    throw new SimUsageError(`event ${field} must be an ISO 8601 date-time string, got ${JSON.stringify(value)}`);
  }
  return Date.parse(value);
}

function checkInput(input: Record<string, unknown>): EventInput {
  const unknown = Object.keys(input).filter((k) => !INPUT_KEYS.has(k));
  if (unknown.length) {
    throw new SimUsageError(`unknown event field(s) ${unknown.join(', ')}; allowed: ${[...INPUT_KEYS].join(', ')}`);
  }
  for (const key of ['subject', 'body', 'location', 'showAs', 'importance', 'timeZone'] as const) {
    if (input[key] !== undefined && typeof input[key] !== 'string')
      throw new SimUsageError(`event ${key} must be a string`);
  }
  for (const key of ['attendees', 'categories'] as const) {
    const v = input[key];
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
      throw new SimUsageError(`event ${key} must be an array of strings`);
    }
  }
  for (const key of ['isAllDay', 'isCancelled'] as const) {
    if (input[key] !== undefined && typeof input[key] !== 'boolean')
      throw new SimUsageError(`event ${key} must be a boolean`);
  }
  if (input.recurrence !== undefined) {
    const r = input.recurrence as PatternedRecurrence | null;
    if (!r || typeof r !== 'object' || !r.pattern || !r.range)
      throw new SimUsageError('event recurrence must be { pattern, range } (Graph patternedRecurrence)');
    checkRecurrence(r);
    resolveZone(r.range.recurrenceTimeZone);
  }
  resolveZone(input.timeZone as string | undefined);
  return input;
}

/** The zone an event is written in. */
export const eventZone = (event: StoredEvent): SimZone => resolveZone(event.input.timeZone);

/** The zone a series repeats in: its range's recurrenceTimeZone, else the event's own (Graph's rule). */
export const seriesZone = (master: StoredEvent): SimZone =>
  resolveZone(master.recurrence?.range.recurrenceTimeZone ?? master.input.timeZone);

/**
 * An all-day event's start and end are local midnights of its zone (Graph refuses anything else), and it is
 * at least one day long.
 */
function checkAllDay(startMs: number, endMs: number, zone: SimZone): void {
  if (!isLocalMidnight(startMs, zone) || !isLocalMidnight(endMs, zone) || endMs <= startMs)
    throw new SimUsageError(
      `an all-day event starts and ends at midnight in its time zone (${zone.graphName}), at least a day apart`,
    );
}

/**
 * A series' occurrence starts up to `untilMs`: on each local date its recurrence gives, at the master's local
 * time of day in the series' zone. A weekly 09:00 in Pacific time stays at 09:00 there across a DST change, so
 * its UTC start moves by an hour, as Outlook's does. (Dates are counted a day past `untilMs`: a zone east of
 * UTC starts a local date before its UTC midnight.)
 */
function seriesInstants(master: StoredEvent, untilMs: number): number[] {
  const zone = seriesZone(master);
  const timeOfDay = localTimeOfDay(master.startMs, zone);
  return occurrenceDates(master.recurrence!, untilMs + DAY_MS)
    .map((date) => instantAt(date, timeOfDay, zone))
    .filter((start) => start <= untilMs);
}

/**
 * Where an occurrence ends: its master's length later, except for an all-day series, whose occurrences end at a
 * local midnight whatever length a DST change gives the day.
 */
function occurrenceEnd(master: StoredEvent, startMs: number, length: number): number {
  if (!master.input.isAllDay) return startMs + length;
  const zone = seriesZone(master);
  const days = Math.max(1, Math.round(length / DAY_MS));
  return instantAt(Date.parse(`${localDate(startMs, zone)}T00:00:00Z`) + days * DAY_MS, 0, zone);
}

export type ChangeListener = (change: CalendarChange) => void;

/** Every mailbox's calendar events, with a change sequence for delta queries and listeners for notifications. */
export class Calendar {
  /** The mailboxes' calendar folders; every event is in one of them. */
  readonly calendars: Calendars;
  private readonly byImmutableId = new Map<string, StoredEvent>();
  private readonly byRestId = new Map<string, StoredEvent>();
  private readonly removals: Removal[] = [];
  private seqCounter = 0;
  private readonly listeners: ChangeListener[] = [];

  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
    this.calendars = new Calendars(now);
  }

  get currentSeq(): number {
    return this.seqCounter;
  }

  /** The next change number: messages and contacts share the sequence, so every delta token orders alike. */
  nextSeq(): number {
    return ++this.seqCounter;
  }

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /** A new event in one of the mailbox's calendars (its default one unless `calendarRef` names another). */
  create(user: SimUser, raw: Record<string, unknown>, calendarRef = DEFAULT_CALENDAR_REF): StoredEvent {
    const calendarId = this.calendars.require(user.id, calendarRef).id;
    const input = checkInput(raw);
    const now = this.now();
    const startMs =
      input.start !== undefined
        ? parseTime(input.start, 'start')
        : input.recurrence
          ? // 09:00 on the range's first date, in the series' zone.
            instantAt(
              Date.parse(`${input.recurrence.range.startDate}T00:00:00Z`),
              9 * 3_600_000,
              resolveZone(input.recurrence.range.recurrenceTimeZone ?? input.timeZone),
            )
          : now + 3_600_000;
    const endMs = input.end !== undefined ? parseTime(input.end, 'end') : startMs + 1_800_000;
    if (endMs < startMs) throw new SimUsageError('event end must not be before its start');
    if (input.isAllDay) checkAllDay(startMs, endMs, resolveZone(input.timeZone));
    const event: StoredEvent = {
      immutableId: outlookId(),
      restId: outlookId(),
      userId: user.id,
      calendarId,
      seq: ++this.seqCounter,
      createdMs: now,
      modifiedMs: now,
      changeKey: changeKey(),
      iCalUId: `040000008200E00074C5B7101A82E008${outlookId().slice(4, 40)}`,
      input: {
        subject: input.subject ?? '',
        body: input.body ?? '',
        location: input.location ?? '',
        attendees: input.attendees ?? [],
        categories: input.categories ?? [],
        isAllDay: input.isAllDay ?? false,
        isCancelled: input.isCancelled ?? false,
        timeZone: input.timeZone ?? 'UTC',
        showAs: input.showAs ?? 'busy',
        importance: input.importance ?? 'normal',
      },
      startMs,
      endMs,
      ...(input.recurrence ? { recurrence: structuredClone(input.recurrence) } : {}),
    };
    this.byImmutableId.set(event.immutableId, event);
    this.byRestId.set(event.restId, event);
    this.emit({ type: 'created', event });
    return event;
  }

  update(userId: string, id: string, raw: Record<string, unknown>): StoredEvent {
    const occurrence = this.find(userId, id) ? undefined : this.findOccurrence(userId, id);
    if (occurrence) return this.changeOccurrence(occurrence, raw);
    const event = this.require(userId, id);
    const input = checkInput(raw);
    const { start, end, recurrence, ...rest } = input;
    if (recurrence && !event.recurrence) throw new SimUsageError('only a series master has a recurrence to change');
    const startMs = start !== undefined ? parseTime(start, 'start') : event.startMs;
    const endMs = end !== undefined ? parseTime(end, 'end') : event.endMs;
    if (endMs < startMs) throw new SimUsageError('event end must not be before its start');
    if (rest.isAllDay ?? event.input.isAllDay)
      checkAllDay(startMs, endMs, resolveZone(rest.timeZone ?? event.input.timeZone));
    const before = event.recurrence ? this.seriesStarts(event) : undefined;
    if (recurrence) event.recurrence = structuredClone(recurrence);
    Object.assign(event.input, rest);
    event.startMs = startMs;
    event.endMs = endMs;
    this.touch(event);
    if (before) this.retireDropped(event, before);
    this.emit({ type: 'updated', event });
    return event;
  }

  delete(userId: string, id: string): StoredEvent {
    const occurrence = this.find(userId, id) ? undefined : this.findOccurrence(userId, id);
    if (occurrence) return this.cancelOccurrence(occurrence);
    const event = this.require(userId, id);
    this.byImmutableId.delete(event.immutableId);
    this.byRestId.delete(event.restId);
    event.seq = ++this.seqCounter;
    this.removals.push({
      seq: event.seq,
      userId,
      calendarId: event.calendarId,
      restId: event.restId,
      immutableId: event.immutableId,
      restOnly: false,
      ...(event.recurrence ? { series: event } : {}),
    });
    this.emit({ type: 'deleted', event });
    return event;
  }

  /**
   * Moves the event to another calendar of its mailbox: its REST id changes, its immutable id does not. The
   * calendar it left reports it removed (delta) and `deleted` (its subscriptions); the one it entered, `created`.
   */
  move(userId: string, id: string, calendarRef: string): StoredEvent {
    const event = this.require(userId, id);
    const to = this.calendars.require(userId, calendarRef);
    if (to.id === event.calendarId) throw new SimUsageError(`the event is in calendar ${to.id} already`);
    const previousRestId = event.restId;
    const previousCalendarId = event.calendarId;
    this.byRestId.delete(previousRestId);
    event.restId = outlookId();
    event.calendarId = to.id;
    this.byRestId.set(event.restId, event);
    this.touch(event);
    this.removals.push({
      seq: event.seq,
      userId,
      calendarId: previousCalendarId,
      restId: previousRestId,
      immutableId: event.immutableId,
      restOnly: true,
      ...(event.recurrence ? { series: event } : {}),
    });
    this.emit({ type: 'updated', event, previousRestId, previousCalendarId, moved: true });
    return event;
  }

  /**
   * Removes a calendar with the events in it. Graph's docs say nothing of what the calendar's subscriptions hear
   * then; graph-sim sends nothing (the harder case for a client): the events are simply gone, reads of them 404,
   * and a delta round of the calendar answers 404.
   */
  removeCalendar(userId: string, calendarRef: string): { calendarId: string; events: number } {
    const calendar = this.calendars.remove(userId, calendarRef);
    let events = 0;
    for (const event of this.forUser(userId, calendar.id)) {
      this.byImmutableId.delete(event.immutableId);
      this.byRestId.delete(event.restId);
      events++;
    }
    return { calendarId: calendar.id, events };
  }

  /** An event by REST id or immutable id, only inside its own mailbox. */
  find(userId: string, id: string): StoredEvent | undefined {
    const event = this.byRestId.get(id) ?? this.byImmutableId.get(id);
    return event && event.userId === userId ? event : undefined;
  }

  /**
   * A series' occurrences that overlap [fromMs, toMs), in order: the master's time of day and length on each
   * date its recurrence gives. Empty for an event that is not a series master.
   */
  instances(master: StoredEvent, fromMs: number, toMs: number): Occurrence[] {
    // An exception moved into the window from a date further than a week away is not found here (graph-sim's
    // tests move occurrences by days).
    return this.byOriginalStart(master, fromMs - 7 * DAY_MS, toMs + 7 * DAY_MS).filter(
      (o) => o.startMs < toMs && o.endMs > fromMs,
    );
  }

  /** A series' occurrences whose original start lies in [fromMs, toMs), wherever an exception moved them. */
  byOriginalStart(master: StoredEvent, fromMs: number, toMs: number): Occurrence[] {
    if (!master.recurrence) return [];
    const length = master.endMs - master.startMs;
    return seriesInstants(master, toMs)
      .filter((start) => start >= fromMs && start < toMs && !master.cancelled?.has(start))
      .map((start): Occurrence => {
        const change = master.exceptions?.get(start);
        return change
          ? { master, originalStartMs: start, startMs: change.startMs, endMs: change.endMs, change }
          : { master, originalStartMs: start, startMs: start, endMs: occurrenceEnd(master, start, length) };
      });
  }

  /**
   * Graph's cancel of one occurrence (DELETE of its id): it disappears from the series and the master changes,
   * which is the only notification Graph sends for it (an `updated` of the master).
   */
  private cancelOccurrence(o: Occurrence): StoredEvent {
    (o.master.cancelled ??= new Set()).add(o.originalStartMs);
    o.master.exceptions?.delete(o.originalStartMs);
    this.touch(o.master);
    (o.master.retired ??= new Map()).set(o.originalStartMs, o.master.seq);
    this.emit({ type: 'updated', event: o.master });
    return o.master;
  }

  /** One occurrence changed on its own becomes an exception of the series; again the master is what changes. */
  private changeOccurrence(o: Occurrence, raw: Record<string, unknown>): StoredEvent {
    const input = checkInput(raw);
    if (input.recurrence) throw new SimUsageError('an occurrence has no recurrence of its own; change the master');
    const { start, end, recurrence: _none, ...rest } = input;
    const startMs = start !== undefined ? parseTime(start, 'start') : o.startMs;
    const endMs = end !== undefined ? parseTime(end, 'end') : o.endMs;
    if (endMs < startMs) throw new SimUsageError('event end must not be before its start');
    const now = this.now();
    const previous = o.master.exceptions?.get(o.originalStartMs);
    (o.master.exceptions ??= new Map()).set(o.originalStartMs, {
      input: { ...previous?.input, ...rest },
      startMs,
      endMs,
      modifiedMs: now,
      changeKey: changeKey(),
    });
    this.touch(o.master);
    this.emit({ type: 'updated', event: o.master });
    return o.master;
  }

  /** An occurrence by its id (REST or immutable flavour of its master's), inside its own mailbox. */
  findOccurrence(userId: string, id: string): Occurrence | undefined {
    const match = OCCURRENCE_ID.exec(id);
    if (!match) return undefined;
    const master = this.find(userId, match[1]!);
    if (!master?.recurrence) return undefined;
    const startMs = Date.parse(
      `${match[2]!.slice(0, 4)}-${match[2]!.slice(4, 6)}-${match[2]!.slice(6, 8)}T${match[2]!.slice(9, 11)}:${match[2]!.slice(11, 13)}:${match[2]!.slice(13, 15)}Z`,
    );
    return this.byOriginalStart(master, startMs, startMs + 1).find((o) => o.originalStartMs === startMs);
  }

  /**
   * What a calendar view of [fromMs, toMs) shows: single events and the occurrences and exceptions of series
   * (never a series master itself), ordered by start.
   */
  view(userId: string, fromMs: number, toMs: number, calendarId?: string): Array<StoredEvent | Occurrence> {
    const shown: Array<StoredEvent | Occurrence> = [];
    for (const event of this.forUser(userId, calendarId)) {
      if (event.recurrence) shown.push(...this.instances(event, fromMs, toMs));
      else if (event.startMs < toMs && event.endMs > fromMs) shown.push(event);
    }
    return shown.sort((a, b) => a.startMs - b.startMs);
  }

  /** A series' original starts up to a horizon well past any window a test asks for. */
  private seriesStarts(master: StoredEvent): Set<number> {
    return new Set(seriesInstants(master, this.now() + SERIES_HORIZON_MS));
  }

  /** After a change of the series: occurrences it no longer has are retired, ones it has again are not. */
  private retireDropped(master: StoredEvent, before: Set<number>): void {
    const after = this.seriesStarts(master);
    for (const start of before)
      if (!after.has(start) && !master.cancelled?.has(start)) (master.retired ??= new Map()).set(start, master.seq);
    for (const start of after) if (!master.cancelled?.has(start)) master.retired?.delete(start);
    // Outlook drops the exceptions of occurrences the series no longer has.
    for (const start of master.exceptions?.keys() ?? []) if (!after.has(start)) master.exceptions!.delete(start);
  }

  /** A mailbox's events: all of them, or those of one calendar. */
  forUser(userId: string, calendarId?: string): StoredEvent[] {
    return [...this.byImmutableId.values()].filter(
      (e) => e.userId === userId && (calendarId === undefined || e.calendarId === calendarId),
    );
  }

  /** Live events and removals of one calendar changed in (afterSeq, uptoSeq], ordered by change. */
  changesBetween(
    userId: string,
    calendarId: string,
    afterSeq: number,
    uptoSeq: number,
  ): { events: StoredEvent[]; removals: Removal[] } {
    const inRange = (seq: number): boolean => seq > afterSeq && seq <= uptoSeq;
    return {
      events: this.forUser(userId, calendarId)
        .filter((e) => inRange(e.seq))
        .sort((a, b) => a.seq - b.seq),
      removals: this.removals.filter((r) => r.userId === userId && r.calendarId === calendarId && inRange(r.seq)),
    };
  }

  private require(userId: string, id: string): StoredEvent {
    const event = this.find(userId, id);
    if (!event) throw new SimUsageError(`user ${userId} has no event ${id}`, 404);
    return event;
  }

  private touch(event: StoredEvent): void {
    event.seq = ++this.seqCounter;
    event.modifiedMs = this.now();
    event.changeKey = changeKey();
  }

  private emit(change: CalendarChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

/**
 * An instant as Graph shows it: local time in the zone the caller prefers. An all-day event's dates float: its
 * local midnights are shown as they are, unconverted, whatever zone is preferred (as Outlook does).
 */
function shownTime(event: StoredEvent, ms: number, display: SimZone): { dateTime: string; timeZone: string } {
  return {
    dateTime: localDateTime(ms, event.input.isAllDay ? eventZone(event) : display),
    timeZone: display.graphName,
  };
}

/**
 * Graph's name of one occurrence of a series, `OID.{master id}.{date}`: the `occurrenceId` of an instance and an
 * entry of the master's `cancelledOccurrences`. The date is the original start's in the series' zone (Graph's
 * docs show the form, not which zone's date: the series' own is the one a calendar shows).
 */
const occurrenceName = (masterId: string, master: StoredEvent, originalStartMs: number): string =>
  `OID.${masterId}.${localDate(originalStartMs, seriesZone(master))}`;

/** A master's recurrence as Graph returns it: the range always names the zone the series repeats in. */
function renderRecurrence(master: StoredEvent): PatternedRecurrence {
  const recurrence = structuredClone(master.recurrence!);
  recurrence.range.recurrenceTimeZone = seriesZone(master).graphName;
  return recurrence;
}

/** The event as Graph's JSON shows it, with the id flavour the caller asked for. */
export function renderEvent(
  event: StoredEvent,
  owner: SimUser,
  immutable: boolean,
  graphBase: string,
  withCancelled = false,
  /** `Prefer: outlook.timezone`: the zone start and end are given in (default UTC). */
  display: SimZone = UTC_ZONE,
): Record<string, unknown> {
  const { input } = event;
  const zone = eventZone(event);
  const id = immutable ? event.immutableId : event.restId;
  const preview = input.body.replace(/<[^>]*>/g, '').slice(0, 255);
  return {
    '@odata.etag': `W/"${event.changeKey}"`,
    id,
    createdDateTime: new Date(event.createdMs).toISOString(),
    lastModifiedDateTime: new Date(event.modifiedMs).toISOString(),
    changeKey: event.changeKey,
    categories: input.categories,
    transactionId: null,
    originalStartTimeZone: zone.graphName,
    originalEndTimeZone: zone.graphName,
    iCalUId: event.iCalUId,
    reminderMinutesBeforeStart: 15,
    isReminderOn: true,
    hasAttachments: false,
    subject: input.subject,
    bodyPreview: preview,
    importance: input.importance,
    sensitivity: 'normal',
    isAllDay: input.isAllDay,
    isCancelled: input.isCancelled,
    isOrganizer: true,
    responseRequested: true,
    seriesMasterId: null,
    showAs: input.showAs,
    type: event.recurrence ? 'seriesMaster' : 'singleInstance',
    webLink: `${graphBase.replace(/\/v1\.0$/, '')}/owa/?itemid=${encodeURIComponent(id)}&exvsurl=1&path=/calendar/item`,
    onlineMeetingUrl: null,
    isOnlineMeeting: false,
    onlineMeetingProvider: 'unknown',
    allowNewTimeProposals: true,
    isDraft: false,
    hideAttendees: false,
    responseStatus: { response: 'organizer', time: '0001-01-01T00:00:00Z' },
    body: { contentType: 'html', content: input.body },
    start: shownTime(event, event.startMs, display),
    end: shownTime(event, event.endMs, display),
    location: {
      displayName: input.location,
      locationType: 'default',
      uniqueIdType: 'unknown',
      address: {},
      coordinates: {},
    },
    locations: input.location
      ? [{ displayName: input.location, locationType: 'default', uniqueIdType: 'unknown' }]
      : [],
    recurrence: event.recurrence ? renderRecurrence(event) : null,
    // Graph returns a master's cancelled occurrences only to a `$select` naming them, on a read by id.
    ...(event.recurrence && withCancelled
      ? {
          // Graph's form: OID.{master id}.{the occurrence's original date in the series' zone}, not an event id.
          cancelledOccurrences: [...(event.cancelled ?? [])]
            .sort((a, b) => a - b)
            .map((ms) => occurrenceName(id, event, ms)),
        }
      : {}),
    attendees: input.attendees.map((address) => ({
      type: 'required',
      status: { response: 'none', time: '0001-01-01T00:00:00Z' },
      emailAddress: { name: address.split('@')[0], address },
    })),
    organizer: { emailAddress: { name: owner.displayName, address: owner.mail } },
    onlineMeeting: null,
  };
}

/** One occurrence as Graph's JSON shows it: the master's properties at this occurrence's time, typed `occurrence`. */
export function renderOccurrence(
  occurrence: Occurrence,
  owner: SimUser,
  immutable: boolean,
  graphBase: string,
  display: SimZone = UTC_ZONE,
): Record<string, unknown> {
  const masterId = immutable ? occurrence.master.immutableId : occurrence.master.restId;
  const id = occurrenceId(masterId, occurrence.originalStartMs);
  const change = occurrence.change;
  const base = renderEvent(
    change ? { ...occurrence.master, input: { ...occurrence.master.input, ...change.input } } : occurrence.master,
    owner,
    immutable,
    graphBase,
    false,
    display,
  );
  return {
    ...base,
    ...(change
      ? {
          '@odata.etag': `W/"${change.changeKey}"`,
          changeKey: change.changeKey,
          lastModifiedDateTime: new Date(change.modifiedMs).toISOString(),
        }
      : {}),
    id,
    type: change ? 'exception' : 'occurrence',
    seriesMasterId: masterId,
    // What the master's cancelledOccurrences names a cancelled one by (Graph returns it on instances, though its
    // metadata omits it).
    occurrenceId: occurrenceName(masterId, occurrence.master, occurrence.originalStartMs),
    recurrence: null,
    originalStart: new Date(occurrence.originalStartMs).toISOString(),
    start: shownTime(occurrence.master, occurrence.startMs, display),
    end: shownTime(occurrence.master, occurrence.endMs, display),
    webLink: `${graphBase.replace(/\/v1\.0$/, '')}/owa/?itemid=${encodeURIComponent(id)}&exvsurl=1&path=/calendar/item`,
  };
}
