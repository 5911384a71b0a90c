import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { badRequest, GraphError } from '../errors.ts';
import { graphJson } from '../http/respond.ts';
import type { Params, Router } from '../http/router.ts';
import {
  CHAT_MESSAGE_PROPERTIES,
  CHAT_PROPERTIES,
  type MessagePlace,
  type StoredMessage,
  type TeamsStore,
} from '../teams.ts';
import type { SimRequest, SimResponse } from '../types.ts';
import type { GraphContext } from './graph-context.ts';
import { parseSelect, project } from './select.ts';

const DEFAULT_TOP = 20;
const MAX_TOP = 50;

/** What a channel delta token stands for; signed, so a client can only hand back what it was given. */
interface ChannelSyncState {
  t: string;
  team: string;
  ch: string;
  sel: string[] | undefined;
  top: number;
  /** Changes after this sequence number are in this round; -1: the initial round (every root message). */
  after: number;
  upto: number;
  off: number;
  epoch: number;
}

const notFound = (what: string): GraphError => new GraphError(404, 'NotFound', `${what} not found.`);

const select = (req: SimRequest, properties: Set<string>, type: string): string[] | undefined =>
  parseSelect(req.query.get('$select'), properties, type);

/** `$top` as Teams takes it: 1 to 50, 20 when not given. */
function top(req: SimRequest): number {
  const raw = req.query.get('$top');
  if (raw === null) return DEFAULT_TOP;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TOP)
    throw badRequest(`Invalid page size: $top must be an integer from 1 to ${MAX_TOP}.`);
  return n;
}

const MODIFIED = /^lastModifiedDateTime (gt|lt) (\d{4}-\d{2}-\d{2}T[0-9:.]+Z)$/i;

/**
 * `$filter` on a Teams listing, as Graph takes it there: `lastModifiedDateTime gt {time}`, `… lt {time}`, or both
 * joined by `and`. Anything else is refused, so a client cannot believe a filter was applied when it was not.
 */
function modifiedWindow(req: SimRequest): (m: StoredMessage) => boolean {
  const raw = req.query.get('$filter');
  if (raw === null) return () => true;
  const bounds = raw.split(/ and /i).map((part) => MODIFIED.exec(part.trim()));
  if (!bounds.length || bounds.length > 2 || bounds.some((b) => !b || Number.isNaN(Date.parse(b[2]!))))
    throw badRequest(`Invalid $filter '${raw}': only lastModifiedDateTime gt/lt {UTC time}, joined by 'and'.`);
  return (m) =>
    bounds.every((b) =>
      b![1]!.toLowerCase() === 'gt' ? m.modifiedMs > Date.parse(b![2]!) : m.modifiedMs < Date.parse(b![2]!),
    );
}

/** `$orderby` on a chat's messages: newest change first (the default) or newest created first. */
function chatOrder(req: SimRequest): (a: StoredMessage, b: StoredMessage) => number {
  const raw = req.query.get('$orderby');
  if (raw === null || /^lastModifiedDateTime desc$/i.test(raw)) return byModifiedDesc;
  if (/^createdDateTime desc$/i.test(raw)) return byIdDesc;
  throw badRequest(`Invalid $orderby '${raw}': lastModifiedDateTime desc or createdDateTime desc.`);
}

function skip(req: SimRequest): number {
  const raw = req.query.get('$skiptoken');
  if (raw === null) return 0;
  const n = Number(Buffer.from(raw, 'base64url').toString());
  if (!Number.isInteger(n) || n < 0) throw badRequest('The $skiptoken is invalid.');
  return n;
}

/**
 * Teams reads with app-only tokens: channel messages and replies (paged, newest first), channel delta (root
 * messages only, as Graph documents it), chats and chat messages, and hosted contents with their bytes. A
 * hard-deleted message, or a deleted team, channel or chat, reads 404 `NotFound`.
 */
export class TeamsRoutes {
  private readonly key = randomBytes(32);
  private readonly epochs = new Map<string, number>();
  private readonly store: TeamsStore;
  private readonly currentSeq: () => number;

  constructor(store: TeamsStore, currentSeq: () => number) {
    this.store = store;
    this.currentSeq = currentSeq;
  }

  /** Makes every delta token issued so far for this channel invalid: the next use answers 410. */
  invalidate(channelId: string): void {
    this.epochs.set(channelId, (this.epochs.get(channelId) ?? 0) + 1);
  }

  addRoutes(router: Router<GraphContext>): void {
    const channel = '/teams/:teamId/channels/:channelId/messages';
    const chat = '/chats/:chatId/messages';
    router.add('GET', `${channel}/delta`, (req, p, ctx) => this.delta(req, p, ctx));
    router.add('GET', channel, (req, p, ctx) =>
      this.list(req, ctx, p, this.channelPath(p), (m) => m.replyToId === null, byIdDesc),
    );
    router.add('GET', `${channel}/:messageId`, (req, p, ctx) => this.read(req, ctx, this.rootOf(p, ctx)));
    router.add('GET', `${channel}/:messageId/replies`, (req, p, ctx) => {
      const root = this.rootOf(p, ctx);
      return this.list(
        req,
        ctx,
        p,
        `${this.channelPath(p)}('${root.id}')/replies`,
        (m) => m.replyToId === root.id,
        byIdDesc,
      );
    });
    router.add('GET', `${channel}/:messageId/replies/:replyId`, (req, p, ctx) =>
      this.read(req, ctx, this.replyOf(p, ctx)),
    );
    router.add('GET', '/chats', (req, _p, ctx) => this.chats(req, ctx));
    router.add('GET', '/chats/:chatId', (req, p, ctx) => {
      const c = this.store.chat(ctx.principal.tenantId, p.chatId!);
      if (!c) throw notFound('Chat');
      return graphJson(200, {
        '@odata.context': `${ctx.graphBase}/$metadata#chats/$entity`,
        ...project(this.store.renderChat(c), select(req, CHAT_PROPERTIES, 'chat')),
      });
    });
    router.add('GET', chat, (req, p, ctx) =>
      this.list(req, ctx, p, `chats('${p.chatId}')/messages`, modifiedWindow(req), chatOrder(req)),
    );
    // Every channel's messages and replies of a team, newest change first (Graph's export API; `model` ignored).
    router.add('GET', '/teams/:teamId/channels/getAllMessages', (req, p, ctx) => {
      if (!this.store.team(ctx.principal.tenantId, p.teamId!)) throw notFound('Team');
      const within = modifiedWindow(req);
      const fields = select(req, CHAT_MESSAGE_PROPERTIES, 'chatMessage');
      const all = this.store
        .teamChannels(p.teamId!)
        .flatMap((c) => this.store.allMessages({ kind: 'channel', teamId: p.teamId!, channelId: c.id }))
        .filter((m) => !m.purged && within(m))
        .sort(byModifiedDesc);
      return this.page(
        req,
        ctx,
        'Collection(chatMessage)',
        all.map((m) => project(this.store.render(m), fields)),
      );
    });
    router.add('GET', `${chat}/:messageId`, (req, p, ctx) => this.read(req, ctx, this.chatMessageOf(p, ctx)));
    const hosted: Array<[string, (p: Params, ctx: GraphContext) => StoredMessage]> = [
      [`${channel}/:messageId`, (p, ctx) => this.rootOf(p, ctx)],
      [`${channel}/:messageId/replies/:replyId`, (p, ctx) => this.replyOf(p, ctx)],
      [`${chat}/:messageId`, (p, ctx) => this.chatMessageOf(p, ctx)],
    ];
    for (const [path, find] of hosted) {
      router.add('GET', `${path}/hostedContents`, (_req, p, ctx) => {
        const m = find(p, ctx);
        return graphJson(200, {
          '@odata.context': this.store.context(m, ctx.graphBase).replace(/\/\$entity$/, `('${m.id}')/hostedContents`),
          value: m.content.hostedContents.map((h) => ({ id: h.id, contentBytes: null, contentType: null })),
        });
      });
      router.add('GET', `${path}/hostedContents/:hostedContentId/$value`, (_req, p, ctx) => {
        const h = find(p, ctx).content.hostedContents.find((x) => x.id === p.hostedContentId);
        if (!h) throw notFound('Hosted content');
        return { status: 200, headers: { 'Content-Type': h.contentType }, body: h.bytes };
      });
    }
  }

  private place(p: Params): MessagePlace {
    return p.chatId !== undefined
      ? { kind: 'chat', chatId: p.chatId }
      : { kind: 'channel', teamId: p.teamId!, channelId: p.channelId! };
  }

  private channelPath(p: Params): string {
    return `teams('${p.teamId}')/channels('${p.channelId}')/messages`;
  }

  /** The container must exist (404 naming it), then the message in it. */
  private live(p: Params, ctx: GraphContext, id: string): StoredMessage {
    const place = this.place(p);
    const tenantId = ctx.principal.tenantId;
    if (place.kind === 'chat' && !this.store.chat(tenantId, place.chatId)) throw notFound('Chat');
    if (place.kind === 'channel') {
      if (!this.store.team(tenantId, place.teamId)) throw notFound('Team');
      if (!this.store.channel(tenantId, place.teamId, place.channelId)) throw notFound('Channel');
    }
    const m = this.store.message(tenantId, place, id);
    if (!m) throw notFound('Message');
    return m;
  }

  private rootOf(p: Params, ctx: GraphContext): StoredMessage {
    const m = this.live(p, ctx, p.messageId!);
    // A reply is read under its root's `replies`, not as a channel message.
    if (m.replyToId !== null) throw notFound('Message');
    return m;
  }

  private replyOf(p: Params, ctx: GraphContext): StoredMessage {
    this.rootOf(p, ctx);
    const r = this.live(p, ctx, p.replyId!);
    if (r.replyToId !== p.messageId) throw notFound('Reply');
    return r;
  }

  private chatMessageOf(p: Params, ctx: GraphContext): StoredMessage {
    return this.live(p, ctx, p.messageId!);
  }

  private read(req: SimRequest, ctx: GraphContext, m: StoredMessage): SimResponse {
    const fields = select(req, CHAT_MESSAGE_PROPERTIES, 'chatMessage');
    return graphJson(200, {
      '@odata.context': this.store.context(m, ctx.graphBase),
      ...project(this.store.render(m), fields),
    });
  }

  /** A page of a container's messages (`keep` picks which), in `order`, with a nextLink while more follow. */
  private list(
    req: SimRequest,
    ctx: GraphContext,
    p: Params,
    contextPath: string,
    keep: (m: StoredMessage) => boolean,
    order: (a: StoredMessage, b: StoredMessage) => number,
  ): SimResponse {
    const place = this.place(p);
    const tenantId = ctx.principal.tenantId;
    if (
      place.kind === 'chat'
        ? !this.store.chat(tenantId, place.chatId)
        : !this.store.channel(tenantId, place.teamId, place.channelId)
    )
      throw notFound(place.kind === 'chat' ? 'Chat' : this.store.team(tenantId, place.teamId) ? 'Channel' : 'Team');
    const fields = select(req, CHAT_MESSAGE_PROPERTIES, 'chatMessage');
    const all = this.store
      .allMessages(place)
      .filter((m) => !m.purged && keep(m))
      .sort(order);
    return this.page(
      req,
      ctx,
      contextPath,
      all.map((m) => project(this.store.render(m), fields)),
    );
  }

  private chats(req: SimRequest, ctx: GraphContext): SimResponse {
    const fields = select(req, CHAT_PROPERTIES, 'chat');
    const all = this.store.tenantChats(ctx.principal.tenantId).map((c) => project(this.store.renderChat(c), fields));
    return this.page(req, ctx, 'chats', all);
  }

  private page(req: SimRequest, ctx: GraphContext, contextPath: string, all: Record<string, unknown>[]): SimResponse {
    const size = top(req);
    const offset = skip(req);
    const value = all.slice(offset, offset + size);
    const next = new URLSearchParams(req.query);
    next.set('$top', String(size));
    next.set('$skiptoken', Buffer.from(String(offset + size)).toString('base64url'));
    return graphJson(200, {
      '@odata.context': `${ctx.graphBase}/$metadata#${contextPath}`,
      ...(offset + size < all.length
        ? {
            '@odata.nextLink': `${ctx.graphBase}${encodePath(req.path.replace(/^\/v1\.0(?=\/)/i, ''))}?${next.toString()}`,
          }
        : {}),
      value,
    });
  }

  /**
   * Channel delta: root messages only (a reply's change does not bring its root). The first round has every
   * root (soft-deleted ones with `deletedDateTime`); a later one the roots created or changed since, and purged
   * ones as `{ id, @removed }`.
   */
  private delta(req: SimRequest, p: Params, ctx: GraphContext): SimResponse {
    const tenantId = ctx.principal.tenantId;
    if (!this.store.team(tenantId, p.teamId!)) throw notFound('Team');
    const channel = this.store.channel(tenantId, p.teamId!, p.channelId!);
    if (!channel) throw notFound('Channel');
    for (const name of ['$filter', '$orderby', '$expand', '$search', '$skip'])
      if (req.query.has(name))
        throw badRequest(`The query parameter '${name}' is not supported by graph-sim's channel messages delta.`);
    const token = req.query.get('$deltatoken') ?? req.query.get('$skiptoken');
    const state: ChannelSyncState =
      token !== null
        ? this.decode(token, tenantId, p, ctx)
        : {
            t: tenantId,
            team: p.teamId!,
            ch: channel.id,
            sel: select(req, CHAT_MESSAGE_PROPERTIES, 'chatMessage'),
            top: top(req),
            after: -1,
            upto: this.currentSeq(),
            off: 0,
            epoch: this.epochs.get(channel.id) ?? 0,
          };
    if (req.query.has('$deltatoken')) {
      // A delta link marks a position; using it opens a round of everything changed since, up to now.
      state.after = state.upto;
      state.upto = this.currentSeq();
      state.off = 0;
    }
    const entries = this.store
      .allMessages({ kind: 'channel', teamId: p.teamId!, channelId: channel.id })
      .filter((m) => m.replyToId === null && m.seq <= state.upto && (state.after < 0 ? !m.purged : m.seq > state.after))
      .sort((a, b) => a.seq - b.seq)
      .map((m) =>
        m.purged ? { id: m.id, '@removed': { reason: 'deleted' } } : project(this.store.render(m), state.sel),
      );
    const page = entries.slice(state.off, state.off + state.top);
    const more = state.off + page.length < entries.length;
    const link = (name: string, s: ChannelSyncState): string => {
      const body = Buffer.from(JSON.stringify(s)).toString('base64url');
      const sig = createHmac('sha256', this.key).update(body).digest('base64url');
      return `${ctx.graphBase}/teams/${p.teamId}/channels/${encodeURIComponent(channel.id)}/messages/delta?${name}=${body}.${sig}`;
    };
    return graphJson(200, {
      '@odata.context': `${ctx.graphBase}/$metadata#Collection(chatMessage)`,
      ...(more
        ? { '@odata.nextLink': link('$skiptoken', { ...state, off: state.off + page.length }) }
        : { '@odata.deltaLink': link('$deltatoken', { ...state, off: 0 }) }),
      value: page,
    });
  }

  private decode(token: string, tenantId: string, p: Params, ctx: GraphContext): ChannelSyncState {
    const gone = new GraphError(
      410,
      'SyncStateNotFound',
      'The sync state is invalid or expired. Restart the synchronization without a token.',
      { Location: `${ctx.graphBase}/teams/${p.teamId}/channels/${encodeURIComponent(p.channelId!)}/messages/delta` },
    );
    const [body, sig] = token.split('.');
    if (!body || !sig) throw gone;
    const expected = createHmac('sha256', this.key).update(body).digest();
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw gone;
    const state = JSON.parse(Buffer.from(body, 'base64url').toString()) as ChannelSyncState;
    if (
      state.t !== tenantId ||
      state.team !== p.teamId ||
      state.ch !== p.channelId ||
      state.epoch !== (this.epochs.get(state.ch) ?? 0)
    )
      throw gone;
    return state;
  }
}

const byIdDesc = (a: StoredMessage, b: StoredMessage): number => Number(b.id) - Number(a.id);
const byModifiedDesc = (a: StoredMessage, b: StoredMessage): number =>
  b.modifiedMs - a.modifiedMs || Number(b.id) - Number(a.id);

const encodePath = (path: string): string =>
  path
    .split('/')
    .map((s) => encodeURIComponent(decodeURIComponent(s)))
    .join('/');
