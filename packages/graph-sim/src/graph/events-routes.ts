import { renderEvent, renderOccurrence, EVENT_PROPERTIES, type Calendar } from '../calendar.ts';
import { badRequest, GraphError, notFound } from '../errors.ts';
import { graphJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { SimUser } from '../types.ts';
import type { GraphContext } from './graph-context.ts';
import { parsePrefer, preferenceApplied } from './prefer.ts';
import { parseSelect, project } from './select.ts';

/** Outlook ids are base64-like; anything else is malformed before it is unknown. */
const ID_SHAPE = /^[A-Za-z0-9_\-+/=]{1,512}$/;

const parseEventSelect = (raw: string | null) => parseSelect(raw, EVENT_PROPERTIES, 'event');

export function addEventRoutes(router: Router<GraphContext>, calendar: Calendar): void {
  const getEvent = (
    ctx: GraphContext,
    user: SimUser,
    eventId: string,
    rawSelect: string | null,
    prefer: string | undefined,
  ) => {
    if (!ID_SHAPE.test(eventId)) throw new GraphError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.');
    const select = parseEventSelect(rawSelect);
    const prefs = parsePrefer(prefer);
    const event = calendar.find(user.id, eventId);
    const occurrence = event ? undefined : calendar.findOccurrence(user.id, eventId);
    if (occurrence) {
      const body = project(
        renderOccurrence(occurrence, user, prefs.immutableIds, ctx.graphBase, prefs.timeZone),
        select,
      );
      return graphJson(
        200,
        { '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/events/$entity`, ...body },
        preferenceApplied(prefs),
      );
    }
    if (!event) throw notFound();
    // A REST id stops resolving once the event moved; only its immutable id (or the new REST id) still does.
    if (eventId !== event.restId && eventId !== event.immutableId) throw notFound();
    const body = project(
      renderEvent(
        event,
        user,
        prefs.immutableIds,
        ctx.graphBase,
        select?.includes('cancelledOccurrences'),
        prefs.timeZone,
      ),
      select,
    );
    return graphJson(
      200,
      { '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/events/$entity`, ...body },
      preferenceApplied(prefs),
    );
  };

  router.add('GET', '/users/:userId/events/:eventId', (req, p, ctx) =>
    getEvent(ctx, ctx.user!, p.eventId!, req.query.get('$select'), req.headers.prefer),
  );
  router.add('GET', '/users/:userId/calendar/events/:eventId', (req, p, ctx) =>
    getEvent(ctx, ctx.user!, p.eventId!, req.query.get('$select'), req.headers.prefer),
  );

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
  router.add('GET', '/users/:userId/calendarView', (req, _p, ctx) => {
    const user = ctx.user!;
    const [from, to] = windowOf(req.query);
    const select = parseEventSelect(req.query.get('$select'));
    const prefs = parsePrefer(req.headers.prefer);
    return graphJson(
      200,
      {
        '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/calendarView`,
        ...paged(req.query, calendar.view(user.id, from, to), ctx.graphBase, `/users/${user.id}/calendarView`, (e) =>
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
  });

  router.add('GET', '/users/:userId/events', (req, _p, ctx) => {
    const user = ctx.user!;
    const select = parseEventSelect(req.query.get('$select'));
    const prefs = parsePrefer(req.headers.prefer);
    const top = req.query.get('$top') ?? '10';
    const skip = req.query.get('$skip') ?? '0';
    if (!/^\d+$/.test(top) || Number(top) < 1 || Number(top) > 1000)
      throw badRequest(`Invalid value '${top}' for $top; use 1..1000.`, 'ErrorInvalidParameter');
    if (!/^\d+$/.test(skip)) throw badRequest(`Invalid value '${skip}' for $skip.`, 'ErrorInvalidParameter');
    const all = calendar.forUser(user.id).sort((a, b) => a.createdMs - b.createdMs);
    const page = all.slice(Number(skip), Number(skip) + Number(top));
    const next =
      Number(skip) + page.length < all.length
        ? `${ctx.graphBase}/users/${user.id}/events?$top=${top}&$skip=${Number(skip) + page.length}${select ? `&$select=${select.join(',')}` : ''}`
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
  });
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
function paged<T>(
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
