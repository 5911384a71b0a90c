import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DIRECTORY_PROPERTIES, type DirectoryKind, type DirectoryObjects } from '../directory-objects.ts';
import { GraphError } from '../errors.ts';
import { graphJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { GraphContext } from './graph-context.ts';
import { parsePrefer, preferenceApplied } from './prefer.ts';
import { parseSelect, project } from './select.ts';

const TYPE: Record<DirectoryKind, string> = { users: 'user', groups: 'group' };

interface DirectorySyncState {
  k: DirectoryKind;
  t: string;
  sel: string[] | undefined;
  after: number;
  upto: number;
  off: number;
}

const missing = (id: string): GraphError =>
  new GraphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

/** `/users/{id}`, `/groups/{id}` (with `$select`) and `/users/delta`, `/groups/delta` of the caller's tenant. */
export class DirectoryRoutes {
  private readonly key = randomBytes(32);
  private readonly objects: DirectoryObjects;
  private readonly currentSeq: () => number;
  private readonly defaultPageSize: number;

  constructor(objects: DirectoryObjects, currentSeq: () => number, defaultPageSize: number) {
    this.objects = objects;
    this.currentSeq = currentSeq;
    this.defaultPageSize = defaultPageSize;
  }

  addRoutes(router: Router<GraphContext>): void {
    for (const kind of ['users', 'groups'] as const) {
      router.add('GET', `/${kind}/delta`, (req, _p, ctx) => this.delta(kind, req.query, req.headers.prefer, ctx));
      // `:objectId`, not `:userId`: these are directory reads, not mailbox routes.
      router.add('GET', `/${kind}/:objectId`, (req, p, ctx) => {
        const select = parseSelect(req.query.get('$select'), DIRECTORY_PROPERTIES[kind], TYPE[kind]);
        const object = this.objects.render(kind, p.objectId!, ctx.principal.tenantId);
        if (!object) throw missing(p.objectId!);
        return graphJson(200, {
          '@odata.context': `${ctx.graphBase}/$metadata#${kind}/$entity`,
          ...project(object, select),
        });
      });
    }
  }

  private delta(kind: DirectoryKind, query: URLSearchParams, prefer: string | undefined, ctx: GraphContext) {
    const tenantId = ctx.principal.tenantId;
    const prefs = parsePrefer(prefer);
    const pageSize = Math.min(prefs.maxPageSize ?? this.defaultPageSize, 999);
    const token = query.get('$deltatoken') ?? query.get('$skiptoken');
    const state: DirectorySyncState =
      token !== null
        ? this.decode(token, kind, tenantId)
        : {
            k: kind,
            t: tenantId,
            sel: parseSelect(query.get('$select'), DIRECTORY_PROPERTIES[kind], TYPE[kind]),
            after: -1,
            upto: this.currentSeq(),
            off: 0,
          };
    if (query.has('$deltatoken')) {
      state.after = state.upto;
      state.upto = this.currentSeq();
      state.off = 0;
    }
    const entries = this.objects
      .all(kind, tenantId)
      .filter((o) => o.seq <= state.upto && (state.after < 0 ? !o.deleted : o.seq > state.after))
      .sort((a, b) => a.seq - b.seq)
      .map((o) =>
        o.deleted
          ? { '@odata.type': `#microsoft.graph.${TYPE[kind]}`, id: o.id, '@removed': { reason: 'deleted' } }
          : project(this.objects.render(kind, o.id, tenantId)!, state.sel),
      );
    const page = entries.slice(state.off, state.off + pageSize);
    const more = state.off + page.length < entries.length;
    const link = (name: string, s: DirectorySyncState): string => {
      const body = Buffer.from(JSON.stringify(s)).toString('base64url');
      const sig = createHmac('sha256', this.key).update(body).digest('base64url');
      return `${ctx.graphBase}/${kind}/delta?${name}=${body}.${sig}`;
    };
    return graphJson(
      200,
      {
        '@odata.context': `${ctx.graphBase}/$metadata#${kind}`,
        ...(more
          ? { '@odata.nextLink': link('$skiptoken', { ...state, off: state.off + page.length }) }
          : { '@odata.deltaLink': link('$deltatoken', { ...state, off: 0 }) }),
        value: page,
      },
      preferenceApplied(prefs),
    );
  }

  private decode(token: string, kind: DirectoryKind, tenantId: string): DirectorySyncState {
    const gone = new GraphError(410, 'SyncStateNotFound', 'The sync state is invalid or expired.');
    const [body, sig] = token.split('.');
    if (!body || !sig) throw gone;
    const expected = createHmac('sha256', this.key).update(body).digest();
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw gone;
    const state = JSON.parse(Buffer.from(body, 'base64url').toString()) as DirectorySyncState;
    if (state.k !== kind || state.t !== tenantId) throw gone;
    return state;
  }
}
