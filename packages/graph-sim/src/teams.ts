import { randomBytes } from 'node:crypto';
import { SimUsageError } from './errors.ts';
import { guid } from './ids.ts';
import type { ChangeType, SimUser } from './types.ts';

export type ChatType = 'oneOnOne' | 'group' | 'meeting';
const CHAT_TYPES = new Set<ChatType>(['oneOnOne', 'group', 'meeting']);

export interface StoredTeam {
  id: string;
  tenantId: string;
  displayName: string;
  createdMs: number;
  deleted: boolean;
}

export interface StoredChannel {
  id: string;
  teamId: string;
  tenantId: string;
  displayName: string;
  createdMs: number;
  deleted: boolean;
}

export interface StoredChat {
  id: string;
  tenantId: string;
  chatType: ChatType;
  topic: string | null;
  members: string[];
  createdMs: number;
  updatedMs: number;
  deleted: boolean;
}

export interface HostedContent {
  id: string;
  contentType: string;
  bytes: Buffer;
}

export interface Attachment {
  id: string;
  contentType: string;
  contentUrl: string | null;
  content: string | null;
  name: string | null;
  thumbnailUrl: string | null;
}

/** What a soft delete empties and an undo restores. */
export interface MessageContent {
  body: { contentType: 'html' | 'text'; content: string };
  attachments: Attachment[];
  hostedContents: HostedContent[];
}

/** Where a message lives: a team's channel (roots and their replies) or a chat. */
export type MessagePlace = { kind: 'channel'; teamId: string; channelId: string } | { kind: 'chat'; chatId: string };

export interface StoredMessage {
  id: string;
  tenantId: string;
  place: MessagePlace;
  replyToId: string | null;
  /** Global change sequence number of the message's own last change (a reply's change leaves its root's alone). */
  seq: number;
  createdMs: number;
  modifiedMs: number;
  editedMs: number | undefined;
  deletedMs: number | undefined;
  /** Hard-deleted (a retention purge): reads answer 404, channel delta reports `@removed`. */
  purged: boolean;
  subject: string | null;
  from: SimUser;
  content: MessageContent;
  /** While soft-deleted: the content an undo brings back. */
  hidden?: MessageContent;
}

/** What a test posts or edits (the control API's body, checked). */
export interface MessageInput {
  body?: { content: string; contentType?: 'html' | 'text' };
  subject?: string | null;
  /** The sender's user id or userPrincipalName (default: the tenant's first user, or the chat's first member). */
  from?: string;
  attachments?: Array<Partial<Attachment> & { contentType: string }>;
  /**
   * Inline images: the body may name one as `../hostedContents/{temporaryId}/$value` (Graph's POST form), which
   * becomes the full URL; one the body does not name is appended as an `<img>`.
   */
  hostedContents?: Array<{ contentType: string; contentBytes: string; temporaryId?: string }>;
}

/** A message or chat as Graph's JSON shows it. */
export interface TeamsJson {
  id: string;
  [property: string]: unknown;
}

export type TeamsChange =
  { what: 'message'; type: ChangeType; message: StoredMessage } | { what: 'chat'; type: ChangeType; chat: StoredChat };

export const CHAT_MESSAGE_PROPERTIES = new Set([
  'id',
  'replyToId',
  'etag',
  'messageType',
  'createdDateTime',
  'lastModifiedDateTime',
  'lastEditedDateTime',
  'deletedDateTime',
  'subject',
  'summary',
  'chatId',
  'importance',
  'locale',
  'webUrl',
  'policyViolation',
  'eventDetail',
  'from',
  'body',
  'channelIdentity',
  'attachments',
  'mentions',
  'reactions',
]);

export const CHAT_PROPERTIES = new Set([
  'id',
  'topic',
  'createdDateTime',
  'lastUpdatedDateTime',
  'chatType',
  'webUrl',
  'tenantId',
]);

const hex32 = (): string => randomBytes(16).toString('hex');
const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * Microsoft Teams as Graph shows it to an app: teams and their channels, chats, and the messages in them (a
 * channel's roots and replies, a chat's messages) with soft delete, undo, hard delete (a purge) and hosted
 * contents. Every message change gets a sequence number (channel delta is a position in it) and is announced.
 */
export class TeamsStore {
  private readonly teams = new Map<string, StoredTeam>();
  private readonly channels = new Map<string, StoredChannel>();
  private readonly chats = new Map<string, StoredChat>();
  /** Messages per container (a channel's or a chat's id), purged ones kept for delta's `@removed`. */
  private readonly messages = new Map<string, Map<string, StoredMessage>>();
  /** Per container, the ms of its last change: ids and change times there strictly increase. */
  private readonly lastStamp = new Map<string, number>();
  private readonly listeners: Array<(change: TeamsChange) => void> = [];

  private readonly now: () => number;
  private readonly seq: () => number;
  private readonly graphBase: () => string;
  private readonly user: (idOrUpn: string, tenantId: string) => SimUser;
  private readonly firstUser: (tenantId: string) => SimUser;

  constructor(deps: {
    now: () => number;
    seq: () => number;
    /** Graph's base URL, for the hosted-content URLs a body names. */
    graphBase: () => string;
    /** A user of the tenant by id or userPrincipalName, or a 404 usage error. */
    user: (idOrUpn: string, tenantId: string) => SimUser;
    firstUser: (tenantId: string) => SimUser;
  }) {
    // Whole milliseconds: message ids and etags are the ms of a change.
    this.now = () => Math.floor(deps.now());
    this.seq = deps.seq;
    this.graphBase = deps.graphBase;
    this.user = deps.user;
    this.firstUser = deps.firstUser;
  }

  onChange(listener: (change: TeamsChange) => void): void {
    this.listeners.push(listener);
  }

  addTeam(tenantId: string, input: { displayName: string; id?: string }): StoredTeam {
    const id = input.id ?? guid();
    if (this.teams.has(id)) throw new SimUsageError(`team ${id} exists already`, 409);
    const team: StoredTeam = { id, tenantId, displayName: input.displayName, createdMs: this.now(), deleted: false };
    this.teams.set(id, team);
    return team;
  }

  addChannel(teamId: string, input: { displayName: string }): StoredChannel {
    const team = this.requireTeam(teamId);
    const channel: StoredChannel = {
      id: `19:${hex32()}@thread.tacv2`,
      teamId: team.id,
      tenantId: team.tenantId,
      displayName: input.displayName,
      createdMs: this.now(),
      deleted: false,
    };
    this.channels.set(channel.id, channel);
    this.messages.set(channel.id, new Map());
    return channel;
  }

  /** A deleted team or channel: it and its messages read 404; nothing is notified (Graph sends no per-message delete). */
  deleteTeam(teamId: string): StoredTeam {
    const team = this.requireTeam(teamId);
    team.deleted = true;
    for (const c of this.channels.values()) if (c.teamId === team.id) c.deleted = true;
    return team;
  }

  deleteChannel(teamId: string, channelId: string): StoredChannel {
    const channel = this.requireChannel(teamId, channelId);
    channel.deleted = true;
    return channel;
  }

  addChat(tenantId: string, input: { chatType: ChatType; topic?: string | null; members?: string[] }): StoredChat {
    if (!CHAT_TYPES.has(input.chatType))
      throw new SimUsageError(`chatType must be one of ${[...CHAT_TYPES].join(', ')}`);
    const members = (input.members ?? []).map((m) => this.user(m, tenantId).id);
    if (input.chatType === 'oneOnOne' && members.length !== 2 && members.length !== 0)
      throw new SimUsageError('a oneOnOne chat has exactly two members');
    if (input.chatType === 'oneOnOne' && input.topic) throw new SimUsageError('a oneOnOne chat has no topic');
    const id =
      input.chatType === 'oneOnOne'
        ? `19:${members[0] ?? guid()}_${members[1] ?? guid()}@unq.gbl.spaces`
        : input.chatType === 'meeting'
          ? `19:meeting_${randomBytes(24).toString('base64url')}@thread.v2`
          : `19:${hex32()}@thread.v2`;
    if (this.chats.has(id) && !this.chats.get(id)!.deleted)
      throw new SimUsageError(`the oneOnOne chat of these members exists already: ${id}`, 409);
    const now = this.now();
    const chat: StoredChat = {
      id,
      tenantId,
      chatType: input.chatType,
      topic: input.topic ?? null,
      members,
      createdMs: now,
      updatedMs: now,
      deleted: false,
    };
    this.chats.set(id, chat);
    this.messages.set(id, new Map());
    this.emit({ what: 'chat', type: 'created', chat });
    return chat;
  }

  renameChat(chatId: string, topic: string | null): StoredChat {
    const chat = this.requireChat(chatId);
    if (chat.chatType === 'oneOnOne') throw new SimUsageError('a oneOnOne chat has no topic');
    chat.topic = topic;
    chat.updatedMs = Math.max(this.now(), chat.updatedMs + 1);
    this.emit({ what: 'chat', type: 'updated', chat });
    return chat;
  }

  /** A deleted chat reads 404 with its messages; `/chats` subscriptions take created and updated only: no notice. */
  deleteChat(chatId: string): StoredChat {
    const chat = this.requireChat(chatId);
    chat.deleted = true;
    return chat;
  }

  post(place: MessagePlace, input: MessageInput): StoredMessage {
    const tenantId = this.requirePlace(place);
    return this.create(place, tenantId, null, input);
  }

  reply(teamId: string, channelId: string, rootId: string, input: MessageInput): StoredMessage {
    const place: MessagePlace = { kind: 'channel', teamId, channelId };
    const root = this.requireMessage(place, rootId);
    if (root.replyToId !== null) throw new SimUsageError(`message ${rootId} is a reply; reply to its root`);
    if (input.subject) throw new SimUsageError('a reply has no subject');
    return this.create(place, root.tenantId, root.id, input);
  }

  edit(place: MessagePlace, messageId: string, input: MessageInput): StoredMessage {
    const m = this.requireMessage(place, messageId);
    if (m.deletedMs !== undefined)
      throw new SimUsageError(`message ${messageId} is deleted; undo the delete first`, 409);
    if (input.from !== undefined) throw new SimUsageError('the sender of a message cannot change');
    if (input.subject !== undefined && (m.replyToId !== null || m.place.kind === 'chat'))
      throw new SimUsageError('only a channel root message has a subject');
    if (input.subject !== undefined) m.subject = input.subject;
    m.content = this.content(m, {
      body: input.body ?? m.content.body,
      attachments: input.attachments ?? m.content.attachments,
      hostedContents: input.hostedContents,
      keepHosted: input.hostedContents === undefined ? m.content.hostedContents : undefined,
    });
    const now = this.touch(m);
    m.editedMs = now;
    this.emit({ what: 'message', type: 'updated', message: m });
    return m;
  }

  /** Graph's softDelete: the message stays readable, empty, with `deletedDateTime`; its subscribers hear `deleted`. */
  softDelete(place: MessagePlace, messageId: string): StoredMessage {
    const m = this.requireMessage(place, messageId);
    if (m.deletedMs !== undefined) throw new SimUsageError(`message ${messageId} is deleted already`, 409);
    m.hidden = m.content;
    m.content = { body: { contentType: m.content.body.contentType, content: '' }, attachments: [], hostedContents: [] };
    m.deletedMs = this.touch(m);
    this.emit({ what: 'message', type: 'deleted', message: m });
    return m;
  }

  /** Graph's undoSoftDelete: the content comes back, `deletedDateTime` clears (`updated`). */
  undoSoftDelete(place: MessagePlace, messageId: string): StoredMessage {
    const m = this.requireMessage(place, messageId);
    if (m.deletedMs === undefined || !m.hidden) throw new SimUsageError(`message ${messageId} is not deleted`, 409);
    m.content = m.hidden;
    delete m.hidden;
    m.deletedMs = undefined;
    this.touch(m);
    this.emit({ what: 'message', type: 'updated', message: m });
    return m;
  }

  /**
   * A hard delete (a retention policy's purge, not a user action): the message is gone. A root's replies go with
   * it, each heard as `deleted` before the root, so a consumer keyed by message is left with none of them.
   */
  purge(place: MessagePlace, messageId: string): StoredMessage[] {
    const m = this.requireMessage(place, messageId);
    const replies =
      m.replyToId === null && place.kind === 'channel'
        ? [...this.container(place).values()].filter((r) => r.replyToId === m.id && !r.purged)
        : [];
    for (const r of [...replies, m]) {
      r.purged = true;
      this.touch(r);
      this.emit({ what: 'message', type: 'deleted', message: r });
    }
    return [...replies, m];
  }

  team(tenantId: string, teamId: string): StoredTeam | undefined {
    const t = this.teams.get(teamId);
    return t && !t.deleted && t.tenantId === tenantId ? t : undefined;
  }

  channel(tenantId: string, teamId: string, channelId: string): StoredChannel | undefined {
    const c = this.channels.get(channelId);
    return c && !c.deleted && c.teamId === teamId && this.team(tenantId, teamId) ? c : undefined;
  }

  chat(tenantId: string, chatId: string): StoredChat | undefined {
    const c = this.chats.get(chatId);
    return c && !c.deleted && c.tenantId === tenantId ? c : undefined;
  }

  /** A live (not purged) message of a live container of the tenant. */
  message(tenantId: string, place: MessagePlace, messageId: string): StoredMessage | undefined {
    const live =
      place.kind === 'chat' ? this.chat(tenantId, place.chatId) : this.channel(tenantId, place.teamId, place.channelId);
    if (!live) return undefined;
    const m = this.container(place).get(messageId);
    return m && !m.purged ? m : undefined;
  }

  /** Every message of a container, purged ones included, in creation order. */
  allMessages(place: MessagePlace): StoredMessage[] {
    return [...this.container(place).values()];
  }

  tenantTeams(tenantId: string): StoredTeam[] {
    return [...this.teams.values()].filter((t) => t.tenantId === tenantId && !t.deleted);
  }

  teamChannels(teamId: string): StoredChannel[] {
    return [...this.channels.values()].filter((c) => c.teamId === teamId && !c.deleted);
  }

  tenantChats(tenantId: string): StoredChat[] {
    return [...this.chats.values()].filter((c) => c.tenantId === tenantId && !c.deleted);
  }

  /** The message as Graph's JSON shows it (no `@odata.context`). */
  render(m: StoredMessage): TeamsJson {
    const { place } = m;
    const webUrl =
      place.kind === 'channel'
        ? `https://teams.microsoft.com/l/message/${encodeURIComponent(place.channelId)}/${m.id}?groupId=${place.teamId}&tenantId=${m.tenantId}&createdTime=${m.createdMs}&parentMessageId=${m.replyToId ?? m.id}`
        : `https://teams.microsoft.com/l/message/${encodeURIComponent(place.chatId)}/${m.id}?context=%7B%22contextType%22%3A%22chat%22%7D`;
    return {
      id: m.id,
      replyToId: m.replyToId,
      etag: String(m.modifiedMs),
      messageType: 'message',
      createdDateTime: iso(m.createdMs),
      lastModifiedDateTime: iso(m.modifiedMs),
      lastEditedDateTime: iso(m.editedMs),
      deletedDateTime: iso(m.deletedMs),
      subject: m.subject,
      summary: null,
      chatId: place.kind === 'chat' ? place.chatId : null,
      importance: 'normal',
      locale: 'en-us',
      webUrl,
      policyViolation: null,
      eventDetail: null,
      from: {
        application: null,
        device: null,
        user: {
          '@odata.type': '#microsoft.graph.teamworkUserIdentity',
          id: m.from.id,
          displayName: m.from.displayName,
          userIdentityType: 'aadUser',
          tenantId: m.tenantId,
        },
      },
      body: { ...m.content.body },
      channelIdentity: place.kind === 'channel' ? { teamId: place.teamId, channelId: place.channelId } : null,
      attachments: m.content.attachments.map((a) => ({ ...a })),
      mentions: [],
      reactions: [],
    };
  }

  renderChat(chat: StoredChat): TeamsJson {
    return {
      id: chat.id,
      topic: chat.topic,
      createdDateTime: iso(chat.createdMs),
      lastUpdatedDateTime: iso(chat.updatedMs),
      chatType: chat.chatType,
      webUrl: `https://teams.microsoft.com/l/chat/${encodeURIComponent(chat.id)}/0?tenantId=${chat.tenantId}`,
      tenantId: chat.tenantId,
    };
  }

  /** The message as a GET returns it: with its `@odata.context` (what a rich notification carries too). */
  json(m: StoredMessage, graphBase: string): TeamsJson {
    return { '@odata.context': this.context(m, graphBase), ...this.render(m) };
  }

  /** A GET's `@odata.context` for the message, e.g. `…/$metadata#teams('{t}')/channels('{c}')/messages/$entity`. */
  context(m: StoredMessage, graphBase: string): string {
    const collection = this.path(m)
      .replace(/\/[^/]+$/, '')
      .replace(/(teams|channels|chats|messages)\/([^/]+)/g, "$1('$2')");
    return `${graphBase}/$metadata#${collection}/$entity`;
  }

  chatJson(chat: StoredChat, graphBase: string): TeamsJson {
    return { '@odata.context': `${graphBase}/$metadata#chats/$entity`, ...this.renderChat(chat) };
  }

  /** The Graph path of a message (`teams/{t}/channels/{c}/messages/{m}[/replies/{r}]` or `chats/{c}/messages/{m}`). */
  path(m: StoredMessage): string {
    const { place } = m;
    if (place.kind === 'chat') return `chats/${place.chatId}/messages/${m.id}`;
    const channel = `teams/${place.teamId}/channels/${place.channelId}/messages`;
    return m.replyToId === null ? `${channel}/${m.id}` : `${channel}/${m.replyToId}/replies/${m.id}`;
  }

  private create(place: MessagePlace, tenantId: string, replyToId: string | null, input: MessageInput): StoredMessage {
    if (input.subject && place.kind === 'chat') throw new SimUsageError('a chat message has no subject');
    // Graph's message ids are the creation time in ms, unique in their container: two posts in one ms differ by one.
    const n = this.stamp(place);
    const from =
      input.from !== undefined
        ? this.user(input.from, tenantId)
        : place.kind === 'chat' && this.chats.get(place.chatId)!.members.length
          ? this.user(this.chats.get(place.chatId)!.members[0]!, tenantId)
          : this.firstUser(tenantId);
    const m: StoredMessage = {
      id: String(n),
      tenantId,
      place,
      replyToId,
      seq: this.seq(),
      createdMs: n,
      modifiedMs: n,
      editedMs: undefined,
      deletedMs: undefined,
      purged: false,
      subject: input.subject ?? null,
      from,
      content: { body: { contentType: 'text', content: '' }, attachments: [], hostedContents: [] },
    };
    m.content = this.content(m, {
      body: input.body ?? { content: '' },
      attachments: input.attachments ?? [],
      hostedContents: input.hostedContents,
    });
    this.container(place).set(m.id, m);
    this.emit({ what: 'message', type: 'created', message: m });
    return m;
  }

  /** A body, attachments and hosted contents as Graph keeps them: hosted contents named by URL in an html body. */
  private content(
    m: StoredMessage,
    input: {
      body: { content: string; contentType?: 'html' | 'text' };
      attachments: Array<Partial<Attachment> & { contentType: string }>;
      hostedContents: MessageInput['hostedContents'];
      keepHosted?: HostedContent[];
    },
  ): MessageContent {
    const attachments = input.attachments.map((a) => ({
      id: a.id ?? guid(),
      contentType: a.contentType,
      contentUrl: a.contentUrl ?? null,
      content: a.content ?? null,
      name: a.name ?? null,
      thumbnailUrl: a.thumbnailUrl ?? null,
    }));
    let content = input.body.content;
    let contentType = input.body.contentType ?? 'text';
    let hosted = input.keepHosted ?? [];
    if (input.hostedContents?.length) {
      contentType = 'html';
      hosted = input.hostedContents.map((h, i) => {
        const id = Buffer.from(`id=x_${i}-${hex32()},type=1`).toString('base64url');
        const url = `${this.graphBase()}/${this.path(m)}/hostedContents/${id}/$value`;
        const placeholder = h.temporaryId !== undefined ? `../hostedContents/${h.temporaryId}/$value` : undefined;
        if (placeholder && content.includes(placeholder)) content = content.split(placeholder).join(url);
        else content += `<img src="${url}">`;
        return { id, contentType: h.contentType, bytes: Buffer.from(h.contentBytes, 'base64') };
      });
    }
    return { body: { contentType, content }, attachments, hostedContents: hosted };
  }

  /** A change: lastModifiedDateTime and etag move (by 1 ms at least, so two changes in one ms differ). */
  private touch(m: StoredMessage): number {
    m.modifiedMs = this.stamp(m.place);
    m.seq = this.seq();
    return m.modifiedMs;
  }

  /** Now in ms, or 1 ms after the container's last change: its changes keep their order in their times. */
  private stamp(place: MessagePlace): number {
    const key = place.kind === 'chat' ? place.chatId : place.channelId;
    const ms = Math.max(this.now(), (this.lastStamp.get(key) ?? 0) + 1);
    this.lastStamp.set(key, ms);
    return ms;
  }

  private container(place: MessagePlace): Map<string, StoredMessage> {
    return (
      this.messages.get(place.kind === 'chat' ? place.chatId : place.channelId) ?? new Map<string, StoredMessage>()
    );
  }

  private requireTeam(teamId: string): StoredTeam {
    const t = this.teams.get(teamId);
    if (!t || t.deleted) throw new SimUsageError(`no team ${teamId}`, 404);
    return t;
  }

  private requireChannel(teamId: string, channelId: string): StoredChannel {
    this.requireTeam(teamId);
    const c = this.channels.get(channelId);
    if (!c || c.deleted || c.teamId !== teamId)
      throw new SimUsageError(`no channel ${channelId} in team ${teamId}`, 404);
    return c;
  }

  private requireChat(chatId: string): StoredChat {
    const c = this.chats.get(chatId);
    if (!c || c.deleted) throw new SimUsageError(`no chat ${chatId}`, 404);
    return c;
  }

  private requirePlace(place: MessagePlace): string {
    return place.kind === 'chat'
      ? this.requireChat(place.chatId).tenantId
      : this.requireChannel(place.teamId, place.channelId).tenantId;
  }

  private requireMessage(place: MessagePlace, messageId: string): StoredMessage {
    this.requirePlace(place);
    const m = this.container(place).get(messageId);
    if (!m || m.purged) throw new SimUsageError(`no message ${messageId} there`, 404);
    return m;
  }

  private emit(change: TeamsChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

/** A control-API body for a post or an edit, checked: Graph's `body` object, or `body` text and `contentType`. */
export function parseMessageInput(raw: Record<string, unknown>): MessageInput {
  const allowed = new Set(['body', 'contentType', 'subject', 'from', 'attachments', 'hostedContents']);
  const unknown = Object.keys(raw).filter((k) => !allowed.has(k));
  if (unknown.length)
    throw new SimUsageError(`unknown message field(s) ${unknown.join(', ')}; allowed: ${[...allowed].join(', ')}`);
  const input: MessageInput = {};
  const contentType = (value: unknown): 'html' | 'text' => {
    if (value !== 'html' && value !== 'text') throw new SimUsageError(`contentType must be html or text`);
    return value;
  };
  if (typeof raw.body === 'string')
    input.body = {
      content: raw.body,
      contentType: raw.contentType === undefined ? 'text' : contentType(raw.contentType),
    };
  else if (typeof raw.body === 'object' && raw.body !== null) {
    const b = raw.body as Record<string, unknown>;
    if (typeof b.content !== 'string') throw new SimUsageError('body.content must be a string');
    input.body = { content: b.content, contentType: b.contentType === undefined ? 'text' : contentType(b.contentType) };
  } else if (raw.body !== undefined) throw new SimUsageError('body must be a string or { content, contentType }');
  if (raw.subject !== undefined) {
    if (raw.subject !== null && typeof raw.subject !== 'string') throw new SimUsageError('subject must be a string');
    input.subject = raw.subject;
  }
  if (raw.from !== undefined) {
    if (typeof raw.from !== 'string') throw new SimUsageError('from must be a user id or userPrincipalName');
    input.from = raw.from;
  }
  if (raw.attachments !== undefined) {
    if (
      !Array.isArray(raw.attachments) ||
      !(raw.attachments as unknown[]).every(
        (a) => typeof a === 'object' && a !== null && typeof (a as Record<string, unknown>).contentType === 'string',
      )
    )
      throw new SimUsageError('attachments must be an array of objects with a contentType');
    input.attachments = raw.attachments as MessageInput['attachments'];
  }
  if (raw.hostedContents !== undefined) {
    if (
      !Array.isArray(raw.hostedContents) ||
      !(raw.hostedContents as unknown[]).every((item) => {
        const h = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
        return (
          typeof h.contentType === 'string' &&
          typeof h.contentBytes === 'string' &&
          /^[A-Za-z0-9+/=\s]*$/.test(h.contentBytes) &&
          (h.temporaryId === undefined || typeof h.temporaryId === 'string')
        );
      })
    )
      throw new SimUsageError(
        'hostedContents must be an array of { contentType, contentBytes (base64), temporaryId? }',
      );
    input.hostedContents = raw.hostedContents as MessageInput['hostedContents'];
  }
  return input;
}
