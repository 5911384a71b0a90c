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
      const body = project(renderOccurrence(occurrence, user, prefs.immutableIds, ctx.graphBase), select);
      return graphJson(
        200,
        { '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/events/$entity`, ...body },
        preferenceApplied(prefs),
      );
    }
    if (!event) throw notFound();
    // A REST id stops resolving once the event moved; only its immutable id (or the new REST id) still does.
    if (eventId !== event.restId && eventId !== event.immutableId) throw notFound();
    const body = project(renderEvent(event, user, prefs.immutableIds, ctx.graphBase), select);
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
    const window = ['startDateTime', 'endDateTime'].map((name) => Date.parse(req.query.get(name) ?? ''));
    if (window.some((ms) => Number.isNaN(ms)))
      throw badRequest(
        'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.',
        'ErrorInvalidParameter',
      );
    const master = calendar.find(user.id, p.eventId!);
    if (!master) throw notFound();
    const select = parseEventSelect(req.query.get('$select'));
    const prefs = parsePrefer(req.headers.prefer);
    return graphJson(
      200,
      {
        '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/events('${p.eventId}')/instances`,
        value: calendar
          .instances(master, window[0]!, window[1]!)
          .map((o) => project(renderOccurrence(o, user, prefs.immutableIds, ctx.graphBase), select)),
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
        value: page.map((e) => project(renderEvent(e, user, prefs.immutableIds, ctx.graphBase), select)),
        ...(next ? { '@odata.nextLink': next } : {}),
      },
      preferenceApplied(prefs),
    );
  });
}
