import { badRequest } from '../errors.ts';
import { graphJson, noContent, parseJsonObject } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { SubscriptionService } from '../subscriptions.ts';
import type { GraphContext } from './graph-context.ts';
import { parsePrefer } from './prefer.ts';

export function addSubscriptionRoutes(router: Router<GraphContext>, subscriptions: SubscriptionService): void {
  router
    .add('POST', '/subscriptions', async (req, _p, ctx) => {
      const body = parseJsonObject(req.body);
      const sub = await subscriptions.create(ctx.principal, body, parsePrefer(req.headers.prefer).immutableIds);
      return graphJson(201, subscriptions.render(sub, true, ctx.graphBase));
    })
    .add('GET', '/subscriptions', (req, _p, ctx) => {
      for (const name of req.query.keys()) {
        if (name !== '$skiptoken')
          throw badRequest(`Query option '${name}' is not supported on subscriptions.`, 'InvalidRequest');
      }
      const token = req.query.get('$skiptoken');
      const offset = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString());
      if (!Number.isInteger(offset) || offset < 0) throw badRequest('The $skiptoken is invalid.', 'InvalidRequest');
      const { page, nextOffset } = subscriptions.list(ctx.principal, offset);
      return graphJson(200, {
        '@odata.context': `${ctx.graphBase}/$metadata#subscriptions`,
        value: page.map((s) => {
          const { '@odata.context': _drop, ...rest } = subscriptions.render(s, false, ctx.graphBase);
          return rest;
        }),
        ...(nextOffset !== undefined
          ? {
              '@odata.nextLink': `${ctx.graphBase}/subscriptions?$skiptoken=${Buffer.from(String(nextOffset)).toString('base64url')}`,
            }
          : {}),
      });
    })
    .add('GET', '/subscriptions/:id', (_req, p, ctx) =>
      graphJson(200, subscriptions.render(subscriptions.get(ctx.principal, p.id!), false, ctx.graphBase)),
    )
    .add('PATCH', '/subscriptions/:id', async (req, p, ctx) => {
      const sub = await subscriptions.update(ctx.principal, p.id!, parseJsonObject(req.body));
      return graphJson(200, subscriptions.render(sub, true, ctx.graphBase));
    })
    .add('DELETE', '/subscriptions/:id', (_req, p, ctx) => {
      subscriptions.delete(ctx.principal, p.id!);
      return noContent();
    })
    .add('POST', '/subscriptions/:id/reauthorize', (_req, p, ctx) => {
      subscriptions.reauthorize(ctx.principal, p.id!);
      return noContent();
    });
}
