import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenIssuer } from '../auth/token-issuer.ts';
import type { Calendar } from '../calendar.ts';
import type { SimClock } from '../clock.ts';
import type { Directory } from '../directory.ts';
import { badRequest, GraphError } from '../errors.ts';
import type { Faults } from '../faults.ts';
import { graphErrorResponse, graphJson, parseJsonObject } from '../http/respond.ts';
import { Router } from '../http/router.ts';
import { guid } from '../ids.ts';
import type { GraphSimOptions } from '../options.ts';
import type { SeededRandom } from '../random.ts';
import type { Records } from '../records.ts';
import type { SubscriptionService } from '../subscriptions.ts';
import { ConcurrencyLimiter, mapConcurrent, SlidingWindowLimiter } from '../throttle.ts';
import type { Principal, SimRequest, SimResponse } from '../types.ts';
import type { DeltaService } from './delta.ts';
import { addEventRoutes } from './events-routes.ts';
import type { MailRoutes } from './mail-routes.ts';
import type { DirectoryRoutes } from './directory-routes.ts';
import type { GraphContext } from './graph-context.ts';
import { addPlacesRoutes } from './places-routes.ts';
import { addSubscriptionRoutes } from './subscription-routes.ts';
import type { TeamsRoutes } from './teams-routes.ts';

export interface GraphApiDeps {
  options: GraphSimOptions;
  clock: SimClock;
  random: SeededRandom;
  issuer: TokenIssuer;
  directory: Directory;
  calendar: Calendar;
  delta: DeltaService;
  mail: MailRoutes;
  directoryRoutes: DirectoryRoutes;
  teamsRoutes: TeamsRoutes;
  subscriptions: SubscriptionService;
  faults: Faults;
  records: Records;
  graphBase: () => string;
}

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  dependsOn: string[];
}

const MAX_BATCH = 20;

/** Graph v1.0: authentication, faults, throttling, records, then the route — for requests and `$batch` items alike. */
export class GraphApi {
  private readonly router = new Router<GraphContext>();
  private readonly mailboxConcurrency: ConcurrencyLimiter;
  private readonly mailboxRate: SlidingWindowLimiter;

  private readonly deps: GraphApiDeps;

  constructor(deps: GraphApiDeps) {
    this.deps = deps;
    addEventRoutes(this.router, deps.calendar);
    deps.mail.addRoutes(this.router);
    deps.directoryRoutes.addRoutes(this.router);
    deps.teamsRoutes.addRoutes(this.router);
    this.router.add('GET', '/groups/:groupId/members', (req, p, ctx) => {
      const group = deps.directory.groups.get(p.groupId!);
      if (!group || group.tenantId !== ctx.principal.tenantId) {
        throw new GraphError(
          404,
          'Request_ResourceNotFound',
          `Resource '${p.groupId}' does not exist or one of its queried reference-property objects are not present.`,
        );
      }
      const top = Math.min(Number(req.query.get('$top') ?? 100) || 100, 999);
      const skip = Number(req.query.get('$skiptoken') ?? 0) || 0;
      const members = [...group.members];
      const page = members.slice(skip, skip + top).map((id) => {
        const user = deps.directory.findUser(id)!;
        return {
          '@odata.type': '#microsoft.graph.user',
          id: user.id,
          displayName: user.displayName,
          userPrincipalName: user.userPrincipalName,
        };
      });
      return graphJson(200, {
        '@odata.context': `${ctx.graphBase}/$metadata#directoryObjects`,
        value: page,
        ...(skip + top < members.length
          ? { '@odata.nextLink': `${ctx.graphBase}/groups/${group.id}/members?$top=${top}&$skiptoken=${skip + top}` }
          : {}),
      });
    });
    deps.delta.addRoutes(this.router);
    addPlacesRoutes(this.router, deps.directory);
    addSubscriptionRoutes(this.router, deps.subscriptions);
    this.mailboxConcurrency = new ConcurrencyLimiter(deps.options.throttling.mailboxConcurrency);
    this.mailboxRate = new SlidingWindowLimiter(
      deps.clock,
      10 * 60_000,
      deps.options.throttling.mailboxRequestsPer10Min,
    );
  }

  /** Real seconds to wait for `simMs` of simulated time, at least 1 (Retry-After is whole seconds). */
  retryAfterSeconds(simMs: number): number {
    return Math.max(1, Math.ceil(simMs / this.deps.clock.speed / 1000));
  }

  async handle(req: SimRequest): Promise<SimResponse> {
    const started = performance.now();
    let principal: Principal | undefined;
    let response: SimResponse;
    try {
      const latency = this.deps.faults.latencyMs();
      if (latency > 0) await sleep(latency);
      principal = await this.deps.issuer.authenticate(req.headers.authorization);
      this.requireConsent(principal);
      const path = stripVersion(req.path);
      if (path.toLowerCase() === '/$batch') {
        if (req.method !== 'POST') throw new GraphError(405, 'MethodNotAllowed', '$batch accepts POST only.');
        const fault = this.deps.faults.forBatch(req.method, path);
        if (fault) throw fault;
        response = await this.batch(req, principal);
      } else {
        response = await this.dispatch(req, path, principal);
      }
    } catch (err) {
      response = this.errorResponse(err, req);
    }
    this.record(req, principal, response, started);
    return response;
  }

  private async dispatch(req: SimRequest, path: string, principal: Principal): Promise<SimResponse> {
    const match = this.router.match(req.method, path);
    if (match.kind === 'none') {
      const segment = path.split('/').filter(Boolean).at(-1) ?? '';
      throw badRequest(`Resource not found for the segment '${segment}'.`);
    }
    if (match.kind === 'wrong-method') {
      throw new GraphError(
        405,
        'Request_BadRequest',
        `The method ${req.method} is not allowed here; use ${match.allowed.join(' or ')}.`,
      );
    }
    const ctx: GraphContext = { principal, user: undefined, graphBase: this.deps.graphBase(), batchId: req.batchId };
    const userRef = match.params.userId;
    // Teams reads take the faults and the per-app limits a mailbox's do, per team or chat (tenant for `/chats`).
    const teamsKey =
      match.params.teamId !== undefined
        ? `team:${match.params.teamId}`
        : match.params.chatId !== undefined || /^\/chats$/i.test(path)
          ? `chat:${match.params.chatId ?? principal.tenantId}`
          : undefined;
    if (userRef === undefined && teamsKey === undefined) return match.handler(req, match.params, ctx);
    if (userRef !== undefined) {
      ctx.user = this.deps.directory.findUser(userRef, principal.tenantId);
      if (!ctx.user) throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${userRef}' is invalid.`);
    }
    const fault = this.deps.faults.forResourceRead(req.method, path);
    if (fault) throw fault;
    const key = `${principal.appId}|${ctx.user?.id ?? teamsKey}`;
    if (!this.mailboxConcurrency.tryEnter(key)) {
      throw new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
        'Retry-After': '1',
      });
    }
    try {
      const slot = this.mailboxRate.tryTake(key);
      if (!slot.ok) {
        throw new GraphError(
          429,
          'ApplicationThrottled',
          'Application is over its MailboxRequests limit (10000 per 10 minutes).',
          {
            'Retry-After': String(this.retryAfterSeconds(slot.retryAfterMs)),
          },
        );
      }
      const serviceTime = this.deps.faults.serviceTimeMs();
      if (serviceTime > 0) await sleep(serviceTime);
      return await match.handler(req, match.params, ctx);
    } finally {
      this.mailboxConcurrency.leave(key);
    }
  }

  private async batch(req: SimRequest, principal: Principal): Promise<SimResponse> {
    const items = parseBatch(req.body);
    const results = new Map<string, Record<string, unknown>>();
    const runItem = async (item: BatchItem): Promise<void> => {
      const failedDep = item.dependsOn.find((dep) => {
        const status = results.get(dep)?.status as number | undefined;
        return status === undefined || status < 200 || status >= 300;
      });
      if (failedDep !== undefined) {
        results.set(item.id, {
          id: item.id,
          status: 424,
          headers: { 'Content-Type': 'application/json' },
          body: { error: { code: 'FailedDependency', message: `Dependency '${failedDep}' failed.` } },
        });
        return;
      }
      const url = new URL(item.url.startsWith('/') ? item.url : `/${item.url}`, 'https://graph-sim.localhost');
      const headers: Record<string, string | undefined> = { ...lower(item.headers) };
      const sub: SimRequest = {
        method: item.method,
        path: url.pathname,
        query: url.searchParams,
        headers,
        body: item.body === undefined ? '' : typeof item.body === 'string' ? item.body : JSON.stringify(item.body),
        requestId: guid(),
        batchId: req.requestId,
      };
      const started = performance.now();
      let response: SimResponse;
      try {
        if (/^https?:/i.test(item.url)) throw badRequest(`Batch request '${item.id}' must use a relative URL.`);
        if (stripVersion(url.pathname).toLowerCase() === '/$batch')
          throw badRequest('A $batch request cannot contain another $batch.');
        response = await this.dispatch(sub, stripVersion(url.pathname), principal);
      } catch (err) {
        response = this.errorResponse(err, sub);
      }
      this.record(sub, principal, response, started);
      results.set(item.id, {
        id: item.id,
        status: response.status,
        headers: response.headers ?? {},
        // Binary content (a hosted content's `$value`) travels base64-encoded in a batch response, as in Graph's.
        ...(response.body !== undefined
          ? { body: Buffer.isBuffer(response.body) ? response.body.toString('base64') : response.body }
          : {}),
      });
    };
    const sequential = items.some((i) => i.dependsOn.length);
    // Outlook runs an unordered batch up to 4 at a time, a dependsOn chain one at a time.
    await mapConcurrent(items, sequential ? 1 : this.deps.options.throttling.batchItemConcurrency, runItem);
    const ordered = items.map((i) => results.get(i.id)!);
    const responses = this.deps.options.shuffleBatchResponses ? this.deps.random.shuffle(ordered) : ordered;
    return graphJson(200, { responses });
  }

  private requireConsent(principal: Principal): void {
    if (!this.deps.directory.isConsented(principal.appId, principal.tenantId)) {
      throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
    }
  }

  private errorResponse(err: unknown, req: SimRequest): SimResponse {
    const graphError =
      err instanceof GraphError
        ? err
        : new GraphError(500, 'InternalServerError', `graph-sim internal error: ${(err as Error).message}`);
    return graphErrorResponse(graphError, req.requestId, req.headers['client-request-id'], this.deps.clock.nowIso());
  }

  private record(req: SimRequest, principal: Principal | undefined, response: SimResponse, started: number): void {
    const body = response.body as { error?: { code?: string } } | undefined;
    this.deps.records.requests.push({
      requestId: req.requestId,
      at: this.deps.clock.nowIso(),
      method: req.method,
      path: req.path,
      query: req.query.toString(),
      ...(principal ? { appId: principal.appId, tenantId: principal.tenantId } : {}),
      ...(req.batchId ? { batchId: req.batchId } : {}),
      status: response.status,
      ...(response.status >= 400 && body?.error?.code ? { errorCode: body.error.code } : {}),
      durationMs: Math.round(performance.now() - started),
    });
  }
}

const stripVersion = (path: string): string => path.replace(/^\/v1\.0(?=\/|$)/i, '') || '/';

const lower = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));

function parseBatch(body: string): BatchItem[] {
  const parsed = parseJsonObject(body, 'batch payload');
  const requests = parsed.requests;
  if (!Array.isArray(requests) || requests.length === 0)
    throw badRequest('Invalid batch payload format: a non-empty requests array is required.');
  if (requests.length > MAX_BATCH)
    throw badRequest(`The number of requests in the batch (${requests.length}) exceeds the limit of ${MAX_BATCH}.`);
  const ids = new Set<string>();
  const items = requests.map((raw: unknown, index): BatchItem => {
    if (typeof raw !== 'object' || raw === null) throw badRequest(`Batch request at index ${index} is not an object.`);
    const r = raw as Record<string, unknown>;
    if (typeof r.id !== 'string' || !r.id) throw badRequest(`Batch request at index ${index} needs a string id.`);
    if (typeof r.method !== 'string' || typeof r.url !== 'string')
      throw badRequest(`Batch request '${r.id}' needs a method and a url.`);
    if (ids.has(r.id)) throw badRequest(`Batch request contains duplicate Ids: '${r.id}'.`);
    ids.add(r.id);
    const headers = r.headers ?? {};
    if (
      typeof headers !== 'object' ||
      headers === null ||
      Array.isArray(headers) ||
      Object.values(headers).some((v) => typeof v !== 'string')
    ) {
      throw badRequest(`Batch request '${r.id}' has headers that are not an object of strings.`);
    }
    if (r.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      throw badRequest(`Batch request '${r.id}' has a body but no Content-Type header.`);
    }
    const dependsOn = r.dependsOn ?? [];
    if (!Array.isArray(dependsOn) || dependsOn.some((d) => typeof d !== 'string')) {
      throw badRequest(`Batch request '${r.id}' has a dependsOn that is not an array of ids.`);
    }
    return {
      id: r.id,
      method: r.method.toUpperCase(),
      url: r.url,
      headers: headers as Record<string, string>,
      body: r.body,
      dependsOn: dependsOn as string[],
    };
  });
  const position = new Map(items.map((item, i) => [item.id, i]));
  for (const [i, item] of items.entries()) {
    const unknown = item.dependsOn.find((d) => (position.get(d) ?? Infinity) >= i);
    if (unknown !== undefined)
      throw badRequest(
        `Batch request '${item.id}' depends on '${unknown}', which is not an earlier request of this batch.`,
      );
  }
  return items;
}
