import { createHash } from 'node:crypto';
import type { Directory } from '../directory.ts';
import { GraphError } from '../errors.ts';
import { graphJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { SimRoomList, SimUser } from '../types.ts';
import { paged } from './events-routes.ts';
import type { GraphContext } from './graph-context.ts';

/** A place's id is its own GUID, not the mailbox's object id (Graph's examples show both apart). */
const placeId = (mailboxId: string): string => {
  const h = createHash('sha256').update(`place|${mailboxId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

const renderRoom = (room: SimUser): Record<string, unknown> => ({
  '@odata.type': '#microsoft.graph.room',
  id: placeId(room.id),
  displayName: room.displayName,
  emailAddress: room.mail,
  bookingType: 'standard',
  capacity: 10,
  isWheelChairAccessible: false,
  tags: [],
});

const renderRoomList = (list: SimRoomList): Record<string, unknown> => ({
  '@odata.type': '#microsoft.graph.roomList',
  id: list.id,
  displayName: list.displayName,
  emailAddress: list.emailAddress,
});

/**
 * The Places API (v1.0) as far as finding room mailboxes goes: the tenant's rooms, its room lists and the rooms of
 * one room list (named by its email address). Equipment mailboxes are not places; they are found as users.
 */
export function addPlacesRoutes(router: Router<GraphContext>, directory: Directory): void {
  const rooms = (tenantId: string): SimUser[] => directory.listUsers(tenantId).filter((u) => u.userPurpose === 'room');
  router.add('GET', '/places/microsoft.graph.room', (req, _p, ctx) =>
    graphJson(200, {
      '@odata.context': `${ctx.graphBase}/$metadata#places/microsoft.graph.room`,
      ...paged(req.query, rooms(ctx.principal.tenantId), ctx.graphBase, '/places/microsoft.graph.room', renderRoom),
    }),
  );
  router.add('GET', '/places/microsoft.graph.roomlist', (req, _p, ctx) =>
    graphJson(200, {
      '@odata.context': `${ctx.graphBase}/$metadata#places/microsoft.graph.roomList`,
      ...paged(
        req.query,
        [...directory.roomLists.values()].filter((l) => l.tenantId === ctx.principal.tenantId),
        ctx.graphBase,
        '/places/microsoft.graph.roomlist',
        renderRoomList,
      ),
    }),
  );
  router.add('GET', '/places/:listRef/microsoft.graph.roomlist/rooms', (req, p, ctx) => {
    const ref = p.listRef!.toLowerCase();
    const list = [...directory.roomLists.values()].find(
      (l) => l.tenantId === ctx.principal.tenantId && (l.emailAddress === ref || l.id === ref),
    );
    if (!list)
      throw new GraphError(404, 'ErrorItemNotFound', `The room list '${p.listRef}' was not found in this tenant.`);
    const path = `/places/${list.emailAddress}/microsoft.graph.roomlist/rooms`;
    return graphJson(200, {
      '@odata.context': `${ctx.graphBase}/$metadata#places('${list.emailAddress}')/microsoft.graph.roomList/rooms`,
      ...paged(
        req.query,
        rooms(ctx.principal.tenantId).filter((r) => r.roomList === list.emailAddress),
        ctx.graphBase,
        path,
        renderRoom,
      ),
    });
  });
}
