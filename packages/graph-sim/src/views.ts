import { renderEvent, type StoredEvent } from './calendar.ts';
import { renderItem, type StoredItem } from './mail.ts';
import type { StoredMessage, TeamsJson, TeamsStore } from './teams.ts';
import type { SimUser } from './types.ts';

export interface GraphSimUrls {
  /** https://127.0.0.1:PORT — also the login authority (`authorityHost` for `@azure/identity`). */
  base: string;
  authority: string;
  /** Graph's v1.0 base URL, e.g. https://127.0.0.1:PORT/v1.0 */
  graph: string;
  control: string;
}

/** An event as the control API returns it: both id flavours and Graph's JSON (immutable ids). */
export interface SimEventView {
  id: string;
  immutableId: string;
  userId: string;
  tenantId: string;
  /** The calendar it is in. */
  calendarId: string;
  changeKey: string;
  event: Record<string, unknown>;
}

/** A message or contact as the control API returns it. */
export interface SimItemView {
  id: string;
  immutableId: string;
  userId: string;
  tenantId: string;
  folderId: string;
  changeKey: string;
  item: Record<string, unknown>;
}

export function eventView(event: StoredEvent, user: SimUser, graphBase: string): SimEventView {
  return {
    id: event.restId,
    immutableId: event.immutableId,
    userId: user.id,
    tenantId: user.tenantId,
    calendarId: event.calendarId,
    changeKey: event.changeKey,
    event: renderEvent(event, user, true, graphBase),
  };
}

export function itemView(item: StoredItem, user: SimUser, graphBase: string): SimItemView {
  return {
    id: item.restId,
    immutableId: item.immutableId,
    userId: user.id,
    tenantId: user.tenantId,
    folderId: item.folderId,
    changeKey: item.changeKey,
    item: renderItem(item, user, true, graphBase),
  };
}

/** A tenant's Teams as the control API lists them (what a convergence test compares a compacted topic with). */
export interface SimTeamsState {
  teams: Array<{
    id: string;
    displayName: string;
    channels: Array<{
      id: string;
      displayName: string;
      membershipType: 'standard';
      /** Root messages, oldest first, as a GET returns them (soft-deleted ones with `deletedDateTime`). */
      messages: TeamsJson[];
      /** Every reply of the channel, oldest first (`replyToId` names its root). */
      replies: TeamsJson[];
    }>;
  }>;
  chats: Array<{ chat: TeamsJson; members: string[]; messages: TeamsJson[] }>;
}

export function teamsStateView(store: TeamsStore, tenantId: string, graphBase: string): SimTeamsState {
  const json = (m: StoredMessage): TeamsJson => store.json(m, graphBase);
  return {
    teams: store.tenantTeams(tenantId).map((team) => ({
      id: team.id,
      displayName: team.displayName,
      channels: store.teamChannels(team.id).map((c) => {
        const live = store.allMessages({ kind: 'channel', teamId: team.id, channelId: c.id }).filter((m) => !m.purged);
        return {
          id: c.id,
          displayName: c.displayName,
          membershipType: 'standard' as const,
          messages: live.filter((m) => m.replyToId === null).map(json),
          replies: live.filter((m) => m.replyToId !== null).map(json),
        };
      }),
    })),
    chats: store.tenantChats(tenantId).map((chat) => ({
      chat: store.chatJson(chat, graphBase),
      members: [...chat.members],
      messages: store
        .allMessages({ kind: 'chat', chatId: chat.id })
        .filter((m) => !m.purged)
        .map(json),
    })),
  };
}
