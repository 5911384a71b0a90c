import { renderEvent, renderOccurrence, EVENT_PROPERTIES, type Calendar, type StoredEvent } from '../calendar.ts';
import { renderCalendar, type SimCalendar } from '../calendars.ts';
import { badRequest, GraphError, notFound } from '../errors.ts';
import { graphJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { SimRequest, SimUser } from '../types.ts';
import type { GraphContext } from './graph-context.ts';
import { parsePrefer, preferenceApplied } from './prefer.ts';
import { parseSelect, project } from './select.ts';

/** Outlook ids are base64-like; anything else is malformed before it is unknown. */
const ID_SHAPE = /^[A-Za-z0-9_\-+/=]{1,512}$/;

const parseEventSelect = (raw: string | null) => parseSelect(raw, EVENT_PROPERTIES, 'event');

/**
 * `$expand=calendar` or `calendar($select=id)` (with `name` too): the calendar an event is in. Microsoft's docs
 * show the navigation property; a user reports that on a read of one event it named a calendar that was none of
 * the mailbox's (microsoftgraph/microsoft-graph-docs#6699) — graph-sim names the right one. Anything else is
 * refused, as Graph refuses an expand it cannot parse.
 */
function parseExpand(raw: string | null): 'none' | 'id' | 'whole' {
  if (raw === null) return 'none';
  const m = /^calendar(?:\(\$select=([A-Za-z,]+)\))?$/i.exec(raw.trim());
  if (!m) throw badRequest(`Parsing OData Select and Expand failed: '${raw.slice(0, 80)}' cannot be expanded.`);
  return m[1] ? 'id' : 'whole';
}

export function addEventRoutes(router: Router<GraphContext>, calendar: Calendar): void {
  const getEvent = (
    ctx: GraphContext,
    user: SimUser,
    eventId: string,
    rawSelect: string | null,
    prefer: string | undefined,
    rawExpand: string | null = null,
  ) => {
    if (!ID_SHAPE.test(eventId)) throw new GraphError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.');
    const select = parseEventSelect(rawSelect);
    const expand = parseExpand(rawExpand);
    const prefs = parsePrefer(prefer);
    const event = calendar.find(user.id, eventId);
    const occurrence = event ? undefined : calendar.findOccurrence(user.id, eventId);
    if (occurrence) {
      // An occurrence is in its series' calendar.
      const body = {
        ...project(renderOccurrence(occurrence, user, prefs.immutableIds, ctx.graphBase, prefs.timeZone), select),
        ...withCalendar(user, occurrence.master, expand),
      };
      return graphJson(
        200,
        { '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/events/$entity`, ...body },
        preferenceApplied(prefs),
      );
    }
    if (!event) throw notFound();
    // A REST id stops resolving once the event moved; only its immutable id (or the new REST id) still does.
    if (eventId !== event.restId && eventId !== event.immutableId) throw notFound();
    const body = {
      ...project(
        renderEvent(
          event,
          user,
          prefs.immutableIds,
          ctx.graphBase,
          select?.includes('cancelledOccurrences'),
          prefs.timeZone,
        ),
        select,
      ),
      ...withCalendar(user, event, expand),
    };
    return graphJson(
      200,
      { '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/events/$entity`, ...body },
      preferenceApplied(prefs),
    );
  };

  /** The calendar an `$expand` asks for, beside the event's own properties. */
  const withCalendar = (user: SimUser, event: StoredEvent, expand: 'none' | 'id' | 'whole') => {
    if (expand === 'none') return {};
    const folder = calendar.calendars.find(user.id, event.calendarId)!;
    return { calendar: expand === 'id' ? { id: folder.id } : renderCalendar(folder, user) };
  };
  const calendarOf = (user: SimUser, ref: string): SimCalendar => {
    if (!ID_SHAPE.test(ref)) throw new GraphError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.');
    const found = calendar.calendars.list(user.id).find((c) => c.id === ref);
    if (!found) throw notFound();
    return found;
  };
  const read = (req: SimRequest, ctx: GraphContext, eventId: string) =>
    getEvent(ctx, ctx.user!, eventId, req.query.get('$select'), req.headers.prefer, req.query.get('$expand'));

  router.add('GET', '/users/:userId/events/:eventId', (req, p, ctx) => read(req, ctx, p.eventId!));
  router.add('GET', '/users/:userId/calendar/events/:eventId', (req, p, ctx) => read(req, ctx, p.eventId!));
  // Graph's docs do not say whether a read through one calendar finds an event of another; graph-sim finds it
  // (as a read through the mailbox does), so nothing that relies on the path to confine a read passes here.
  router.add('GET', '/users/:userId/calendars/:calendarId/events/:eventId', (req, p, ctx) => {
    calendarOf(ctx.user!, p.calendarId!);
    return read(req, ctx, p.eventId!);
  });

  router.add('GET', '/users/:userId/calendars', (req, _p, ctx) => {
    const user = ctx.user!;
    return graphJson(200, {
      '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/calendars`,
      ...paged(req.query, calendar.calendars.list(user.id), ctx.graphBase, `/users/${user.id}/calendars`, (c) =>
        projectCalendar(renderCalendar(c, user), req.query.get('$select')),
      ),
    });
  });
  router.add('GET', '/users/:userId/calendars/:calendarId', (req, p, ctx) => {
    const user = ctx.user!;
    return graphJson(200, {
      '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/calendars/$entity`,
      ...projectCalendar(renderCalendar(calendarOf(user, p.calendarId!), user), req.query.get('$select')),
    });
  });
  router.add('GET', '/users/:userId/calendar', (req, _p, ctx) => {
    const user = ctx.user!;
    return graphJson(200, {
      '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/calendar/$entity`,
      ...projectCalendar(renderCalendar(calendar.calendars.defaultOf(user.id), user), req.query.get('$select')),
    });
  });

  // A series' occurrences in a window; Graph requires the window (and returns nothing for a single event).
  router.add('GET', '/users/:userId/events/:eventId/instances', (req, p, ctx) => {
    const user = ctx.user!;
    if (!ID_SHAPE.test(p.eventId!)) throw new GraphError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.');
    const [from, to] = windowOf(req.query);
    const master = calendar.find(user.id, p.eventId!);
    if (!master) throw notFound();
    const select = parseEventSelect(req.query.get('$select'));
    const prefs = parsePrefer(req.headers.prefer);
    const all = calendar.instances(master, from, to);
    return graphJson(
      200,
      {
        '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/events('${p.eventId}')/instances`,
        ...paged(req.query, all, ctx.graphBase, `/users/${user.id}/events/${p.eventId}/instances`, (o) =>
          project(renderOccurrence(o, user, prefs.immutableIds, ctx.graphBase, prefs.timeZone), select),
        ),
      },
      preferenceApplied(prefs),
    );
  });

  // What a calendar shows in a window: single events, occurrences and exceptions, never a series master.
  const calendarView = (req: SimRequest, ctx: GraphContext, calendarRef: string | undefined) => {
    const user = ctx.user!;
    const within = calendarRef === undefined ? calendar.calendars.defaultOf(user.id) : calendarOf(user, calendarRef);
    const path =
      calendarRef === undefined
        ? `/users/${user.id}/calendarView`
        : `/users/${user.id}/calendars/${within.id}/calendarView`;
    const [from, to] = windowOf(req.query);
    const select = parseEventSelect(req.query.get('$select'));
    const prefs = parsePrefer(req.headers.prefer);
    return graphJson(
      200,
      {
        '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/calendarView`,
        ...paged(req.query, calendar.view(user.id, from, to, within.id), ctx.graphBase, path, (e) =>
          project(
            'master' in e
              ? renderOccurrence(e, user, prefs.immutableIds, ctx.graphBase, prefs.timeZone)
              : renderEvent(e, user, prefs.immutableIds, ctx.graphBase, false, prefs.timeZone),
            select,
          ),
        ),
      },
      preferenceApplied(prefs),
    );
  };
  // A calendar view and an event list show one calendar: `/users/{id}/…` the default one (Graph's docs:
  // "the user's primary calendar"), `/users/{id}/calendars/{id}/…` that one.
  router.add('GET', '/users/:userId/calendarView', (req, _p, ctx) => calendarView(req, ctx, undefined));
  router.add('GET', '/users/:userId/calendars/:calendarId/calendarView', (req, p, ctx) =>
    calendarView(req, ctx, p.calendarId),
  );
  router.add('GET', '/users/:userId/events', (req, _p, ctx) => listEvents(req, ctx, undefined));
  router.add('GET', '/users/:userId/calendars/:calendarId/events', (req, p, ctx) => listEvents(req, ctx, p.calendarId));

  function listEvents(req: SimRequest, ctx: GraphContext, calendarRef: string | undefined) {
    const user = ctx.user!;
    const within = calendarRef === undefined ? calendar.calendars.defaultOf(user.id) : calendarOf(user, calendarRef);
    const path =
      calendarRef === undefined ? `/users/${user.id}/events` : `/users/${user.id}/calendars/${within.id}/events`;
    const select = parseEventSelect(req.query.get('$select'));
    const prefs = parsePrefer(req.headers.prefer);
    const top = req.query.get('$top') ?? '10';
    const skip = req.query.get('$skip') ?? '0';
    if (!/^\d+$/.test(top) || Number(top) < 1 || Number(top) > 1000)
      throw badRequest(`Invalid value '${top}' for $top; use 1..1000.`, 'ErrorInvalidParameter');
    if (!/^\d+$/.test(skip)) throw badRequest(`Invalid value '${skip}' for $skip.`, 'ErrorInvalidParameter');
    const all = calendar.forUser(user.id, within.id).sort((a, b) => a.createdMs - b.createdMs);
    const page = all.slice(Number(skip), Number(skip) + Number(top));
    const next =
      Number(skip) + page.length < all.length
        ? `${ctx.graphBase}${path}?$top=${top}&$skip=${Number(skip) + page.length}${select ? `&$select=${select.join(',')}` : ''}`
        : undefined;
    return graphJson(
      200,
      {
        '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/events`,
        value: page.map((e) =>
          project(renderEvent(e, user, prefs.immutableIds, ctx.graphBase, false, prefs.timeZone), select),
        ),
        ...(next ? { '@odata.nextLink': next } : {}),
      },
      preferenceApplied(prefs),
    );
  }
}

const CALENDAR_PROPERTIES = new Set([
  'id',
  'name',
  'color',
  'hexColor',
  'isDefaultCalendar',
  'changeKey',
  'canShare',
  'canViewPrivateItems',
  'canEdit',
  'isRemovable',
  'isTallyingResponses',
  'allowedOnlineMeetingProviders',
  'defaultOnlineMeetingProvider',
  'owner',
]);

function projectCalendar(calendar: Record<string, unknown>, rawSelect: string | null): Record<string, unknown> {
  const select = parseSelect(rawSelect, CALENDAR_PROPERTIES, 'calendar');
  if (!select) return calendar;
  return Object.fromEntries(Object.entries(calendar).filter(([k]) => k === 'id' || select.includes(k)));
}

/** The window a calendar view or an expansion needs: Graph refuses the request without both ends. */
function windowOf(query: URLSearchParams): [number, number] {
  const [from, to] = ['startDateTime', 'endDateTime'].map((name) => Date.parse(query.get(name) ?? ''));
  if (Number.isNaN(from) || Number.isNaN(to))
    throw badRequest(
      'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.',
      'ErrorInvalidParameter',
    );
  return [from!, to!];
}

/** Graph's paging of a view: `$top` items (10 by default, at most 1000) and a nextLink with `$skip`. */
export function paged<T>(
  query: URLSearchParams,
  all: T[],
  graphBase: string,
  path: string,
  render: (item: T) => Record<string, unknown>,
): { value: Record<string, unknown>[]; '@odata.nextLink'?: string } {
  const top = query.get('$top') ?? '10';
  const skip = query.get('$skip') ?? '0';
  if (!/^\d+$/.test(top) || Number(top) < 1 || Number(top) > 1000)
    throw badRequest(`Invalid value '${top}' for $top; use 1..1000.`, 'ErrorInvalidParameter');
  if (!/^\d+$/.test(skip)) throw badRequest(`Invalid value '${skip}' for $skip.`, 'ErrorInvalidParameter');
  const page = all.slice(Number(skip), Number(skip) + Number(top));
  if (Number(skip) + page.length >= all.length) return { value: page.map(render) };
  const next = new URLSearchParams(query);
  next.set('$top', top);
  next.set('$skip', String(Number(skip) + page.length));
  return { value: page.map(render), '@odata.nextLink': `${graphBase}${path}?${next.toString()}` };
}
