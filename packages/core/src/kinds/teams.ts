import { seg, selectQuery, withoutQuery } from './mailbox-paths.ts';
import { LISTING_MARGIN_MS, type NamedItem, type ResourceKind, type Target } from './resource-kind.ts';

/**
 * Microsoft Teams: channel messages and their replies, chat messages, and chats. Graph's rules for them:
 * - a subscription may last 4,320 minutes, rich or basic, but beyond one hour only with a
 *   `lifecycleNotificationUrl` (Graph refuses it otherwise);
 * - lifecycle events are `reauthorizationRequired` and `subscriptionRemoved`, never `missed`: a lost
 *   notification is silent, and only the sweep finds it;
 * - a deleted message stays readable with `deletedDateTime` set (a soft delete); a read answering 404
 *   `NotFound` means it is gone (a purge, or its chat or channel deleted);
 * - notifications name items by OData paths, `teams('…')/channels('…')/messages('…')/replies('…')` and
 *   `chats('…')/messages('…')`, which graph2kafka keeps as the item id (`teams/{id}/channels/{id}/messages/{id}`)
 *   so that one key names one message wherever it is.
 */

const TEAM_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `19:…@thread.tacv2` (or a classic `@thread.skype` channel). */
export const CHANNEL_ID = /^19:[A-Za-z0-9_-]{1,200}@thread\.(?:tacv2|skype)$/;
/** `19:…@thread.v2` (group and meeting chats), `19:{id}_{id}@unq.gbl.spaces` (one-on-one chats). */
export const CHAT_ID = /^19:[A-Za-z0-9_.-]{1,200}@(?:thread\.v2|thread\.skype|unq\.gbl\.spaces)$/;
/** Teams message ids are the creation time in milliseconds. */
const MESSAGE_ID = /^[1-9][0-9]{0,19}$/;
const TEAMS_LIFETIME_MINUTES = 4_320;

/** A key written as a path segment (`/x`) or as an OData key segment (`('x')`). */
const KEY = String.raw`(?:\/([^/()']+)|\('([^/()']*)'\))`;
const CHANNEL_ITEM = new RegExp(String.raw`^\/?teams${KEY}\/channels${KEY}\/messages${KEY}(?:\/replies${KEY})?$`, 'i');
const CHAT_ITEM = new RegExp(String.raw`^\/?chats${KEY}\/messages${KEY}$`, 'i');
const CHAT = new RegExp(String.raw`^\/?chats${KEY}$`, 'i');

const key = (m: RegExpExecArray, n: number): string | undefined => {
  const raw = m[2 * n + 1] ?? m[2 * n + 2];
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
};

/** An item id's path, its ids encoded for a URL: `teams/{t}/channels/{c}` → `/teams/{t}/channels/19%3A…`. */
const urlOf = (path: string): string =>
  '/' +
  path
    .split('/')
    .map((part, i) => (i % 2 ? seg(part) : part))
    .join('/');

/** The OData form Graph's notifications use: `teams('…')/channels('…')/messages('…')`. */
const odataOf = (path: string): string => {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i += 2) out.push(`${parts[i]}('${parts[i + 1] ?? ''}')`);
  return out.join('/');
};

const channelFolder = (teamId: string, channelId: string): string =>
  `teams/${teamId.toLowerCase()}/channels/${channelId}`;

const inFolder = (target: Target, itemId: string): boolean =>
  target.folderId === undefined || itemId.startsWith(`${target.folderId}/messages/`);

const softDeleted = (item: Record<string, unknown>): boolean =>
  typeof item.deletedDateTime === 'string' && item.deletedDateTime !== '';

const text = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

const LIFECYCLE = ['reauthorizationRequired', 'subscriptionRemoved'] as const;

const changedAfter = (fromIso: string): string => encodeURIComponent(`lastModifiedDateTime gt ${fromIso}`);

/** What the three Teams kinds share. */
const TEAMS = {
  scope: 'tenant',
  maxLifetimeMinutes: TEAMS_LIFETIME_MINUTES,
  withoutLifecycleUrlMinutes: 60,
  goneCodes: ['NotFound'],
  removalMeansGone: true,
  defaultSelect: undefined,
  noSelect: true,
  recordKey: (tenantId: string, _t: Target, itemId: string) => `${tenantId.toLowerCase()}/${itemId}`,
  itemResource: (_t: Target, itemId: string) => odataOf(itemId),
  readPath: (_t: Target, itemId: string, select: string | undefined) => `${urlOf(itemId)}${selectQuery(select)}`,
} as const satisfies Partial<ResourceKind>;

/** What channel and chat messages share: all three change types, rich, soft deletes, the message's size rule. */
const MESSAGES = {
  ...TEAMS,
  changeTypes: ['created', 'updated', 'deleted'],
  defaultChangeTypes: ['created', 'updated', 'deleted'],
  rich: { maxLifetimeMinutes: TEAMS_LIFETIME_MINUTES, defaultSelect: '' },
  lifecycleEvents: LIFECYCLE,
  idField: 'messageId',
  itemField: 'message',
  reducible: ['reactions', 'attachments', 'body'],
  softDeleted,
} as const satisfies Partial<ResourceKind>;

/**
 * Messages and replies in channels: every channel of the tenant (`/teams/getAllMessages`) or named channels
 * (`/teams/{id}/channels/{id}/messages`). Delta exists per channel and returns top-level messages only; the
 * replies of each message it returns are listed beside it, and replies changed under an unchanged thread come
 * from the team's listing of changed messages.
 */
export const channelMessages: ResourceKind = {
  ...MESSAGES,
  name: 'channelMessages',
  collection: 'channelmessages',
  permission: 'ChannelMessage.Read.All',
  defaultTopic: 'graph.teams.channel-messages',
  topicSetting: 'G2K_CHANNEL_MESSAGES_TOPIC',
  containers: {
    field: 'channels',
    // The team id in any case (a GUID); the channel id exactly as Graph issues it, as notifications name it.
    shape:
      /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\/19:[A-Za-z0-9_-]{1,200}@thread\.(?:tacv2|skype)$/,
    what: '"{team id}/{channel id}" references (19:…@thread.tacv2)',
    folderOf: (ref) => {
      const at = ref.indexOf('/');
      return channelFolder(ref.slice(0, at), ref.slice(at + 1));
    },
  },
  // A reply has none (only top-level messages have replies).
  children: {
    path: (itemId) => (itemId.includes('/replies/') ? undefined : `${urlOf(itemId)}/replies?$top=50`),
    maxItems: 1_000,
  },
  namedItem(path): NamedItem | undefined {
    const m = CHANNEL_ITEM.exec(path);
    if (!m) return undefined;
    const [team, channel, message, reply] = [key(m, 0), key(m, 1), key(m, 2), key(m, 3)];
    if (!team || !channel || !message || !TEAM_ID.test(team) || !CHANNEL_ID.test(channel)) return undefined;
    if (!MESSAGE_ID.test(message) || (reply !== undefined && !MESSAGE_ID.test(reply))) return undefined;
    const root = `${channelFolder(team, channel)}/messages/${message}`;
    return {
      collection: 'channelmessages',
      user: undefined,
      itemId: reply === undefined ? root : `${root}/replies/${reply}`,
      dataId: reply ?? message,
    };
  },
  binds: (target, named) => named.itemId.startsWith('teams/') && inFolder(target, named.itemId),
  itemIdOf(target, item) {
    const id = String(item.id);
    const at = item.channelIdentity as { teamId?: unknown; channelId?: unknown } | null | undefined;
    const teamId = text(at?.teamId);
    const channelId = text(at?.channelId);
    const folder = teamId && channelId ? channelFolder(teamId, channelId) : (target.folderId ?? '');
    const root = text(item.replyToId);
    return root && root !== id ? `${folder}/messages/${root}/replies/${id}` : `${folder}/messages/${id}`;
  },
  idFields: {
    names: ['teamId', 'channelId', 'messageId', 'replyToId'],
    optional: ['replyToId'],
    of(itemId) {
      const p = itemId.split('/');
      return {
        teamId: p[1] ?? '',
        channelId: p[3] ?? '',
        messageId: p[7] ?? p[5] ?? '',
        ...(p[7] !== undefined ? { replyToId: p[5] ?? '' } : {}),
      };
    },
  },
  subscriptionResource: (t) => (t.folderId ? `/${t.folderId}/messages` : '/teams/getAllMessages'),
  targetOf(resource) {
    const path = withoutQuery(resource);
    if (/^\/?teams\/getAllMessages$/i.test(path)) return {};
    const m = /^\/?teams\/([^/]+)\/channels\/([^/]+)\/messages$/i.exec(path);
    if (!m) return undefined;
    const [team, channel] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)];
    return TEAM_ID.test(team) && CHANNEL_ID.test(channel) ? { folderId: channelFolder(team, channel) } : undefined;
  },
  // Delta for the top-level messages; for replies, whose changes delta never shows, the team's messages of every
  // channel changed since the last round (Graph's getAllMessages), of which this channel's replies are kept.
  deltaScopes(t, options) {
    if (!t.folderId) return [];
    const [, teamId, , channelId] = t.folderId.split('/');
    const since = (fromIso: string): string =>
      `/teams/${teamId}/channels/getAllMessages?$top=50&$filter=${changedAfter(fromIso)}`;
    return [
      { scope: 'messages', initialPath: `${urlOf(t.folderId)}/messages/delta` },
      {
        scope: 'replies',
        initialPath: since(new Date(options.now - LISTING_MARGIN_MS).toISOString()),
        listing: true,
        since,
        keep: (item) =>
          text(item.replyToId) !== undefined &&
          (item.channelIdentity as { channelId?: unknown } | null | undefined)?.channelId === channelId,
      },
    ];
  },
};

/**
 * Messages in chats: every chat of the tenant (`/chats/getAllMessages`) or named chats (`/chats/{id}/messages`).
 * Graph has no delta for one chat's messages: a named chat's snapshot lists them all, later rounds the ones
 * changed since the last (a purged one is not seen); a tenant-wide subscription has no rounds (docs/teams.md).
 */
export const chatMessages: ResourceKind = {
  ...MESSAGES,
  name: 'chatMessages',
  collection: 'chatmessages',
  permission: 'Chat.Read.All',
  defaultTopic: 'graph.teams.chat-messages',
  topicSetting: 'G2K_CHAT_MESSAGES_TOPIC',
  containers: { field: 'chats', shape: CHAT_ID, what: 'chat ids (19:…@thread.v2)', folderOf: (ref) => `chats/${ref}` },
  namedItem(path): NamedItem | undefined {
    const m = CHAT_ITEM.exec(path);
    if (!m) return undefined;
    const [chat, message] = [key(m, 0), key(m, 1)];
    if (!chat || !message || !CHAT_ID.test(chat) || !MESSAGE_ID.test(message)) return undefined;
    return {
      collection: 'chatmessages',
      user: undefined,
      itemId: `chats/${chat}/messages/${message}`,
      dataId: message,
    };
  },
  binds: (target, named) => named.itemId.startsWith('chats/') && inFolder(target, named.itemId),
  itemIdOf(target, item) {
    const chat = text(item.chatId);
    return `${chat ? `chats/${chat}` : (target.folderId ?? '')}/messages/${String(item.id)}`;
  },
  idFields: {
    names: ['chatId', 'messageId'],
    of(itemId) {
      const p = itemId.split('/');
      return { chatId: p[1] ?? '', messageId: p[3] ?? '' };
    },
  },
  subscriptionResource: (t) => (t.folderId ? `/${t.folderId}/messages` : '/chats/getAllMessages'),
  targetOf(resource) {
    const path = withoutQuery(resource);
    if (/^\/?chats\/getAllMessages$/i.test(path)) return {};
    const m = /^\/?chats\/([^/]+)\/messages$/i.exec(path);
    if (!m) return undefined;
    const chat = decodeURIComponent(m[1]!);
    return CHAT_ID.test(chat) ? { folderId: `chats/${chat}` } : undefined;
  },
  deltaScopes: (t) => {
    if (!t.folderId) return [];
    const messages = `${urlOf(t.folderId)}/messages?$top=50`;
    return [
      {
        scope: '',
        initialPath: messages,
        listing: true,
        since: (fromIso) => `${messages}&$filter=${changedAfter(fromIso)}&$orderby=lastModifiedDateTime%20desc`,
      },
    ];
  },
};

/**
 * The chats of a tenant (`/chats`): created and renamed. Graph lists a tenant's chats only per user, so there
 * is no resync or snapshot; a lost notification waits for the chat's next change (docs/teams.md).
 */
export const chats: ResourceKind = {
  ...TEAMS,
  name: 'chats',
  collection: 'chats',
  permission: 'Chat.ReadBasic.All',
  changeTypes: ['created', 'updated'],
  defaultChangeTypes: ['created', 'updated'],
  rich: { maxLifetimeMinutes: TEAMS_LIFETIME_MINUTES, defaultSelect: '' },
  lifecycleEvents: ['reauthorizationRequired'],
  defaultTopic: 'graph.teams.chats',
  topicSetting: 'G2K_CHATS_TOPIC',
  idField: 'chatId',
  itemField: 'chat',
  reducible: [],
  namedItem(path): NamedItem | undefined {
    const m = CHAT.exec(path);
    const chat = m ? key(m, 0) : undefined;
    if (!chat || !CHAT_ID.test(chat)) return undefined;
    return { collection: 'chats', user: undefined, itemId: `chats/${chat}`, dataId: chat };
  },
  binds: (target, named) => target.folderId === undefined && /^chats\/[^/]+$/.test(named.itemId),
  itemIdOf: (_t, item) => `chats/${String(item.id)}`,
  idFields: { names: ['chatId'], of: (itemId) => ({ chatId: itemId.slice('chats/'.length) }) },
  subscriptionResource: () => '/chats',
  targetOf: (resource) => (/^\/?chats$/i.test(withoutQuery(resource)) ? {} : undefined),
  deltaScopes: () => [],
};
