import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { GraphError, notFound } from '../errors.ts';
import { graphJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import { ITEM_PROPERTIES, renderItem, type ItemKind, type OutlookItems } from '../mail.ts';
import type { SimUser } from '../types.ts';
import type { GraphContext } from './graph-context.ts';
import { parsePrefer, preferenceApplied } from './prefer.ts';
import { parseSelect, project } from './select.ts';

const FOLDER_PROPERTIES = new Set(['id', 'displayName', 'parentFolderId', 'childFolderCount']);

const ID_SHAPE = /^[A-Za-z0-9_\-+/=]{1,512}$/;
const ODATA_TYPE: Record<ItemKind, string> = { messages: 'message', contacts: 'contact' };

const parseItemSelect = (kind: ItemKind, raw: string | null) =>
  parseSelect(raw, ITEM_PROPERTIES[kind], ODATA_TYPE[kind]);

/** What a delta token stands for; signed, so a client can only hand back what it was given. */
interface ItemSyncState {
  k: ItemKind;
  u: string;
  f: string;
  sel: string[] | undefined;
  /** Changes after this sequence number are in this round; -1: the initial round (every item of the folder). */
  after: number;
  upto: number;
  off: number;
  epoch: number;
}

/**
 * Messages and contacts: reads by id (REST or immutable, with `$select`), per-folder delta for messages
 * (`mailFolders/{id}/messages/delta`), the folder list (`mailFolders/delta`) and contacts delta of the default
 * folder (`contacts/delta`): pages with nextLink, a deltaLink at the end, `@removed` for what left the folder
 * (deleted or moved), 410 on a token the mailbox no longer honours.
 */
export class MailRoutes {
  private readonly key = randomBytes(32);
  private readonly epochs = new Map<string, number>();
  private readonly items: OutlookItems;
  private readonly currentSeq: () => number;
  private readonly defaultPageSize: number;

  constructor(items: OutlookItems, currentSeq: () => number, defaultPageSize: number) {
    this.items = items;
    this.currentSeq = currentSeq;
    this.defaultPageSize = defaultPageSize;
  }

  /** Makes every delta token issued so far for this mailbox invalid: the next use answers 410. */
  invalidate(userId: string): void {
    this.epochs.set(userId, (this.epochs.get(userId) ?? 0) + 1);
  }

  addRoutes(router: Router<GraphContext>): void {
    router.add('GET', '/users/:userId/mailFolders/delta', (req, _p, ctx) => {
      const user = ctx.user!;
      const folders = this.items.folders(user.id, 'messages').map((f) => ({
        id: f.id,
        displayName: f.displayName,
        parentFolderId: null,
        childFolderCount: 0,
      }));
      return graphJson(200, {
        '@odata.context': `${ctx.graphBase}/$metadata#Collection(mailFolder)`,
        '@odata.deltaLink': `${ctx.graphBase}/users/${user.id}/mailFolders/delta?$deltatoken=all`,
        value: req.query.get('$deltatoken') ? [] : folders,
      });
    });
    // One folder by id or well-known name (`inbox`): what a folder subscription's id is resolved with.
    router.add('GET', '/users/:userId/mailFolders/:folderId', (req, p, ctx) => {
      const folder = this.items.folder(ctx.user!.id, 'messages', p.folderId!);
      if (!folder)
        throw new GraphError(404, 'ErrorItemNotFound', 'The specified folder could not be found in the store.');
      const view = { id: folder.id, displayName: folder.displayName, parentFolderId: null, childFolderCount: 0 };
      return graphJson(200, {
        '@odata.context': `${ctx.graphBase}/$metadata#users('${ctx.user!.id}')/mailFolders/$entity`,
        ...project(view, parseSelect(req.query.get('$select'), FOLDER_PROPERTIES, 'mailFolder')),
      });
    });
    router.add('GET', '/users/:userId/mailFolders/:folderId/messages/delta', (req, p, ctx) => {
      const folder = this.items.folder(ctx.user!.id, 'messages', p.folderId!);
      if (!folder)
        throw new GraphError(404, 'ErrorItemNotFound', 'The specified folder could not be found in the store.');
      return this.delta(req.query, req.headers.prefer, ctx, 'messages', folder.id);
    });
    router.add('GET', '/users/:userId/contacts/delta', (req, _p, ctx) => {
      const folder = this.items.folders(ctx.user!.id, 'contacts')[0]!;
      return this.delta(req.query, req.headers.prefer, ctx, 'contacts', folder.id);
    });
    for (const kind of ['messages', 'contacts'] as const) {
      router.add('GET', `/users/:userId/${kind}/:itemId`, (req, p, ctx) =>
        this.read(kind, req.query, req.headers.prefer, ctx, p.itemId!),
      );
    }
    router.add('GET', '/users/:userId/mailFolders/:folderId/messages/:itemId', (req, p, ctx) => {
      const folder = this.items.folder(ctx.user!.id, 'messages', p.folderId!);
      const item = this.items.find('messages', ctx.user!.id, p.itemId!);
      if (!folder || !item || item.folderId !== folder.id) throw notFound();
      return this.read('messages', req.query, req.headers.prefer, ctx, p.itemId!);
    });
  }

  private read(kind: ItemKind, query: URLSearchParams, prefer: string | undefined, ctx: GraphContext, id: string) {
    if (!ID_SHAPE.test(id)) throw new GraphError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.');
    const user = ctx.user!;
    const select = parseItemSelect(kind, query.get('$select'));
    const prefs = parsePrefer(prefer);
    const item = this.items.find(kind, user.id, id);
    if (!item) throw notFound();
    // A REST id stops resolving once the message moved; only its immutable id (or the new REST id) still does.
    if (id !== item.restId && id !== item.immutableId) throw notFound();
    return graphJson(
      200,
      {
        '@odata.context': `${ctx.graphBase}/$metadata#users('${user.id}')/${kind}/$entity`,
        ...project(renderItem(item, user, prefs.immutableIds, ctx.graphBase), select),
      },
      preferenceApplied(prefs),
    );
  }

  private delta(
    query: URLSearchParams,
    prefer: string | undefined,
    ctx: GraphContext,
    kind: ItemKind,
    folderId: string,
  ) {
    const user = ctx.user!;
    for (const name of ['$filter', '$orderby', '$expand', '$search', '$skip'])
      if (query.has(name))
        throw new GraphError(
          400,
          'ErrorInvalidUrlQuery',
          `The query parameter '${name}' is not supported with change tracking.`,
        );
    const prefs = parsePrefer(prefer);
    const pageSize = Math.min(prefs.maxPageSize ?? this.defaultPageSize, 1000);
    const token = query.get('$deltatoken') ?? query.get('$skiptoken');
    const state: ItemSyncState =
      token !== null
        ? this.decode(token, user, kind, folderId, ctx)
        : {
            k: kind,
            u: user.id,
            f: folderId,
            sel: parseItemSelect(kind, query.get('$select')),
            after: -1,
            upto: this.currentSeq(),
            off: 0,
            epoch: this.epochs.get(user.id) ?? 0,
          };
    if (query.has('$deltatoken')) {
      // A delta link marks a position; using it opens a round of everything changed since, up to now.
      state.after = state.upto;
      state.upto = this.currentSeq();
      state.off = 0;
    }
    const all = this.entries(user, state, prefs.immutableIds, ctx.graphBase);
    const page = all.slice(state.off, state.off + pageSize);
    const more = state.off + page.length < all.length;
    const path = kind === 'messages' ? `mailFolders/${folderId}/messages/delta` : 'contacts/delta';
    const link = (name: string, s: ItemSyncState): string => {
      const body = Buffer.from(JSON.stringify(s)).toString('base64url');
      const sig = createHmac('sha256', this.key).update(body).digest('base64url');
      return `${ctx.graphBase}/users/${user.id}/${path}?${name}=${body}.${sig}`;
    };
    return graphJson(
      200,
      {
        '@odata.context': `${ctx.graphBase}/$metadata#Collection(${ODATA_TYPE[kind]})`,
        ...(more
          ? { '@odata.nextLink': link('$skiptoken', { ...state, off: state.off + page.length }) }
          : { '@odata.deltaLink': link('$deltatoken', { ...state, off: 0 }) }),
        value: page,
      },
      preferenceApplied(prefs),
    );
  }

  private entries(user: SimUser, s: ItemSyncState, immutable: boolean, graphBase: string): Record<string, unknown>[] {
    const render = (i: Parameters<typeof renderItem>[0]) => project(renderItem(i, user, immutable, graphBase), s.sel);
    if (s.after < 0)
      return this.items
        .changesBetween(s.k, user.id, s.f, -1, s.upto)
        .items.sort((a, b) => a.seq - b.seq)
        .map(render);
    const { items, removals } = this.items.changesBetween(s.k, user.id, s.f, s.after, s.upto);
    const entries: Array<{ seq: number; item: Record<string, unknown> }> = items.map((i) => ({
      seq: i.seq,
      item: render(i),
    }));
    for (const r of removals)
      entries.push({
        seq: r.seq,
        item: {
          '@odata.type': `#microsoft.graph.${ODATA_TYPE[s.k]}`,
          id: immutable ? r.immutableId : r.restId,
          '@removed': { reason: 'deleted' },
        },
      });
    return entries.sort((a, b) => a.seq - b.seq).map((e) => e.item);
  }

  private decode(token: string, user: SimUser, kind: ItemKind, folderId: string, ctx: GraphContext): ItemSyncState {
    const gone = new GraphError(
      410,
      'SyncStateNotFound',
      'The sync state is invalid or expired. Restart the synchronization without a token.',
      {
        Location: `${ctx.graphBase}/users/${user.id}/${kind === 'messages' ? `mailFolders/${folderId}/messages` : 'contacts'}/delta`,
      },
    );
    const [body, sig] = token.split('.');
    if (!body || !sig) throw gone;
    const expected = createHmac('sha256', this.key).update(body).digest();
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw gone;
    const state = JSON.parse(Buffer.from(body, 'base64url').toString()) as ItemSyncState;
    if (
      state.u !== user.id ||
      state.k !== kind ||
      state.f !== folderId ||
      state.epoch !== (this.epochs.get(user.id) ?? 0)
    )
      throw gone;
    return state;
  }
}
