import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { occurrenceId, renderEvent, renderOccurrence, type Calendar, type StoredEvent } from '../calendar.ts';
import { GraphError, notFound } from '../errors.ts';
import { graphJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { SimRequest, SimResponse, SimUser } from '../types.ts';
import type { GraphContext } from './graph-context.ts';
import type { SimZone } from '../time-zones.ts';
import { parsePrefer, preferenceApplied } from './prefer.ts';

/** What a `$skiptoken`/`$deltatoken` stands for. Signed, so a client can only hand back what it was given. */
interface SyncState {
  u: string;
  /** The calendar tracked; `undefined` in tokens of the default calendar's path. */
  c?: string;
  s: number;
  e: number;
  /** Changes after this sequence number are in this round. `-1`: the initial round (all live events). */
  after: number;
  upto: number;
  off: number;
  epoch: number;
}

const UNSUPPORTED = ['$select', '$filter', '$orderby', '$expand', '$search', '$top', '$skip'];

/** `calendarView/delta` (v1.0): pages with nextLink, a deltaLink at the end, `@removed` entries, 410 on a bad token. */
export class DeltaService {
  private readonly key = randomBytes(32);
  private readonly epochs = new Map<string, number>();

  private readonly calendar: Calendar;

  private readonly defaultPageSize: number;

  constructor(calendar: Calendar, defaultPageSize: number) {
    this.calendar = calendar;

    this.defaultPageSize = defaultPageSize;
  }

  /** Makes every token issued so far for this mailbox invalid: the next use answers 410. */
  invalidate(userId: string): void {
    this.epochs.set(userId, (this.epochs.get(userId) ?? 0) + 1);
  }

  addRoutes(router: Router<GraphContext>): void {
    // The default calendar's view, or (as Graph's delta-query-events guide describes) another calendar's: each
    // calendar is tracked on its own.
    router.add('GET', '/users/:userId/calendarView/delta', (req, _p, ctx) => this.round(req, ctx, undefined));
    router.add('GET', '/users/:userId/calendars/:calendarId/calendarView/delta', (req, p, ctx) =>
      this.round(req, ctx, p.calendarId),
    );
  }

  private round(req: SimRequest, ctx: GraphContext, calendarRef: string | undefined): SimResponse {
    const user = ctx.user!;
    const calendar =
      calendarRef === undefined
        ? this.calendar.calendars.defaultOf(user.id)
        : this.calendar.calendars.list(user.id).find((c) => c.id === calendarRef);
    if (!calendar) throw notFound();
    for (const name of UNSUPPORTED) {
      if (req.query.has(name)) {
        throw new GraphError(
          400,
          'ErrorInvalidUrlQuery',
          `The following parameters are not supported with change tracking over the 'CalendarView' resource: '${name}'.`,
        );
      }
    }
    const prefs = parsePrefer(req.headers.prefer);
    const pageSize = Math.min(prefs.maxPageSize ?? this.defaultPageSize, 1000);
    const token = req.query.get('$deltatoken') ?? req.query.get('$skiptoken');
    const state =
      token !== null
        ? this.decode(token, user, ctx, calendarRef)
        : this.initial(user, req.query.get('startDateTime'), req.query.get('endDateTime'), calendarRef);
    if ((state.c ?? undefined) !== calendarRef) throw this.gone(ctx, user, calendarRef);
    if (req.query.has('$deltatoken')) {
      // A delta link marks a position; using it opens a round of everything changed since, up to now.
      state.after = state.upto;
      state.upto = this.calendar.currentSeq;
      state.off = 0;
    }
    const items = this.items(user, calendar.id, state, prefs.immutableIds, ctx.graphBase, prefs.timeZone);
    const page = items.slice(state.off, state.off + pageSize);
    const more = state.off + page.length < items.length;
    const link = more
      ? { '@odata.nextLink': this.link(ctx, user, '$skiptoken', { ...state, off: state.off + page.length }) }
      : { '@odata.deltaLink': this.link(ctx, user, '$deltatoken', { ...state, off: 0 }) };
    return graphJson(
      200,
      { '@odata.context': `${ctx.graphBase}/$metadata#Collection(event)`, ...link, value: page },
      preferenceApplied(prefs),
    );
  }

  private initial(user: SimUser, start: string | null, end: string | null, calendarRef: string | undefined): SyncState {
    if (start === null || end === null) {
      throw new GraphError(
        400,
        'ErrorInvalidParameter',
        'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.',
      );
    }
    const s = Date.parse(start);
    const e = Date.parse(end);
    if (Number.isNaN(s) || Number.isNaN(e) || e <= s) {
      throw new GraphError(
        400,
        'ErrorInvalidParameter',
        'StartDateTime and EndDateTime must be ISO 8601 date-times with EndDateTime after StartDateTime.',
      );
    }
    return {
      u: user.id,
      ...(calendarRef !== undefined ? { c: calendarRef } : {}),
      s,
      e,
      after: -1,
      upto: this.calendar.currentSeq,
      off: 0,
      epoch: this.epochs.get(user.id) ?? 0,
    };
  }

  /**
   * A round's entries, as Graph's calendarView/delta gives them: single events, and a series as its occurrences
   * and exceptions in the window (never the master). A changed master brings all of its occurrences again,
   * with `@removed` for those that left the window or the series; a deleted one, `@removed` for each.
   */
  private items(
    user: SimUser,
    calendarId: string,
    state: SyncState,
    immutable: boolean,
    graphBase: string,
    display: SimZone,
  ): Record<string, unknown>[] {
    const inRange = (startMs: number, endMs: number): boolean => startMs < state.e && endMs > state.s;
    const removed = (id: string): Record<string, unknown> => ({
      '@odata.type': '#microsoft.graph.event',
      id,
      '@removed': { reason: 'deleted' },
    });
    const idOf = (e: StoredEvent): string => (immutable ? e.immutableId : e.restId);
    // An occurrence whose original start is in the window but that was moved out of it is reported removed.
    const seriesEntries = (master: StoredEvent, changed: boolean): Record<string, unknown>[] => {
      const out = this.calendar
        .instances(master, state.s, state.e)
        .map((o) => renderOccurrence(o, user, immutable, graphBase, display));
      if (!changed) return out;
      for (const o of this.calendar.byOriginalStart(master, state.s, state.e))
        if (!inRange(o.startMs, o.endMs)) out.push(removed(occurrenceId(idOf(master), o.originalStartMs)));
      for (const [start, seq] of master.retired ?? [])
        if (seq > state.after && seq <= state.upto && start >= state.s && start < state.e)
          out.push(removed(occurrenceId(idOf(master), start)));
      return out;
    };
    if (state.after < 0) {
      return this.calendar
        .forUser(user.id, calendarId)
        .filter((e) => e.seq <= state.upto)
        .sort((a, b) => a.seq - b.seq)
        .flatMap((e) =>
          e.recurrence
            ? seriesEntries(e, false)
            : inRange(e.startMs, e.endMs)
              ? [renderEvent(e, user, immutable, graphBase, false, display)]
              : [],
        );
    }
    const { events, removals } = this.calendar.changesBetween(user.id, calendarId, state.after, state.upto);
    const entries: Array<{ seq: number; items: Record<string, unknown>[] }> = [];
    for (const e of events)
      entries.push({
        seq: e.seq,
        items: e.recurrence
          ? seriesEntries(e, true)
          : [
              inRange(e.startMs, e.endMs)
                ? renderEvent(e, user, immutable, graphBase, false, display)
                : removed(idOf(e)),
            ],
      });
    for (const r of removals) {
      // The event left this calendar (deleted, or moved to another): gone from this view under either id.
      const masterId = immutable ? r.immutableId : r.restId;
      entries.push({
        seq: r.seq,
        items: r.series
          ? this.calendar
              .instances(r.series, state.s, state.e)
              .map((o) => removed(occurrenceId(masterId, o.originalStartMs)))
          : [removed(masterId)],
      });
    }
    return entries.sort((a, b) => a.seq - b.seq).flatMap((x) => x.items);
  }

  private link(ctx: GraphContext, user: SimUser, name: string, state: SyncState): string {
    const body = Buffer.from(JSON.stringify(state)).toString('base64url');
    const sig = createHmac('sha256', this.key).update(body).digest('base64url');
    return `${ctx.graphBase}${viewPath(user, state.c)}?${name}=${body}.${sig}`;
  }

  private gone(
    ctx: GraphContext,
    user: SimUser,
    calendarRef: string | undefined,
    range?: { s: number; e: number },
  ): GraphError {
    const restart = range
      ? `${ctx.graphBase}${viewPath(user, calendarRef)}?startDateTime=${new Date(range.s).toISOString()}&endDateTime=${new Date(range.e).toISOString()}`
      : `${ctx.graphBase}${viewPath(user, calendarRef)}?$deltatoken=`;
    return new GraphError(
      410,
      'SyncStateNotFound',
      'The sync state is invalid or expired. Restart the synchronization from the Location header, without a token.',
      { Location: restart },
    );
  }

  private decode(token: string, user: SimUser, ctx: GraphContext, calendarRef: string | undefined): SyncState {
    const [body, sig] = token.split('.');
    const gone = (range?: { s: number; e: number }): GraphError => this.gone(ctx, user, calendarRef, range);
    if (!body || !sig) throw gone();
    const expected = createHmac('sha256', this.key).update(body).digest();
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw gone();
    const state = JSON.parse(Buffer.from(body, 'base64url').toString()) as SyncState;
    if (state.u !== user.id || state.epoch !== (this.epochs.get(user.id) ?? 0)) throw gone(state);
    return state;
  }
}

const viewPath = (user: SimUser, calendarRef: string | undefined): string =>
  calendarRef === undefined
    ? `/users/${user.id}/calendarView/delta`
    : `/users/${user.id}/calendars/${calendarRef}/calendarView/delta`;
