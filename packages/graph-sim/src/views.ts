import { renderEvent, type StoredEvent } from './calendar.ts';
import { renderItem, type StoredItem } from './mail.ts';
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
