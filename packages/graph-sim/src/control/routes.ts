import { GraphError, SimUsageError } from '../errors.ts';
import { graphErrorResponse, json, usageErrorResponse } from '../http/respond.ts';
import { Router } from '../http/router.ts';
import type { SimOperations, TeamsMessageRef } from '../operations.ts';
import { parseMessageInput, type ChatType } from '../teams.ts';
import type { MailboxPurpose, SimRequest, SimResponse, Subscription } from '../types.ts';

function body(req: SimRequest): Record<string, unknown> {
  if (!req.body.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body);
  } catch {
    throw new SimUsageError('the control API takes a JSON object body');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new SimUsageError('the control API takes a JSON object body');
  return parsed as Record<string, unknown>;
}

function str(value: unknown, name: string): string {
  if (typeof value !== 'string' || !value) throw new SimUsageError(`${name} is required and must be a string`);
  return value;
}

const LIFECYCLE = new Set(['missed', 'subscriptionRemoved', 'reauthorizationRequired']);

function subscriptionView(s: Subscription) {
  return {
    id: s.id,
    resource: s.resource,
    kind: s.kind,
    ...(s.folderId ? { folderId: s.folderId } : {}),
    ...(s.teamId ? { teamId: s.teamId, channelId: s.channelId } : {}),
    ...(s.chatId ? { chatId: s.chatId } : {}),
    userId: s.userId,
    tenantId: s.tenantId,
    applicationId: s.applicationId,
    changeType: s.changeTypes.join(','),
    notificationUrl: s.notificationUrl,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl ?? null,
    expirationDateTime: new Date(s.expirationMs).toISOString(),
    authorizedUntil: new Date(s.authorizedUntilMs).toISOString(),
    immutableIds: s.immutableIds,
    clientState: s.clientState ?? null,
  };
}

/** `/_sim/...`: drive the simulated tenant, clock and faults, and read the records. Unauthenticated: bind to loopback. */
export function controlRouter(sim: SimOperations): Router<void> {
  const since = (req: SimRequest): number => Number(req.query.get('since') ?? 0) || 0;
  const router = new Router<void>()
    .add('GET', '/_sim/info', () =>
      json(200, {
        urls: sim.urls,
        defaults: sim.defaults,
        tenants: [...sim.directory.tenants.values()],
        clock: { now: sim.clock.nowIso(), speed: sim.clock.speed },
        caCertPem: sim.caCertPem,
      }),
    )
    .add('POST', '/_sim/tenants', (req) => {
      const b = body(req);
      return json(
        201,
        sim.addTenant({ ...(typeof b.id === 'string' ? { id: b.id } : {}), domain: str(b.domain, 'domain') }),
      );
    })
    .add('POST', '/_sim/tenants/:tenantId/users', (req, p) => {
      const b = body(req);
      return json(
        201,
        sim.addUser(p.tenantId!, {
          ...(typeof b.id === 'string' ? { id: b.id } : {}),
          userPrincipalName: str(b.userPrincipalName, 'userPrincipalName'),
          ...(typeof b.displayName === 'string' ? { displayName: b.displayName } : {}),
          ...(b.userPurpose !== undefined ? { userPurpose: str(b.userPurpose, 'userPurpose') as MailboxPurpose } : {}),
          ...(b.roomList !== undefined ? { roomList: str(b.roomList, 'roomList') } : {}),
        }),
      );
    })
    .add('POST', '/_sim/tenants/:tenantId/roomLists', (req, p) => {
      const b = body(req);
      return json(
        201,
        sim.addRoomList(p.tenantId!, {
          displayName: str(b.displayName, 'displayName'),
          emailAddress: str(b.emailAddress, 'emailAddress'),
        }),
      );
    })
    .add('POST', '/_sim/tenants/:tenantId/groups', (req, p) => {
      const b = body(req);
      if (!Array.isArray(b.members) || !b.members.every((m) => typeof m === 'string'))
        throw new SimUsageError('members must be an array of user ids or userPrincipalNames');
      return json(
        201,
        sim.addGroup(p.tenantId!, {
          displayName: str(b.displayName, 'displayName'),
          members: b.members,
          ...(typeof b.id === 'string' ? { id: b.id } : {}),
        }),
      );
    })
    .add('POST', '/_sim/groups/:groupId/members', (req, p) => {
      sim.addGroupMember(p.groupId!, str(body(req).userId, 'userId'));
      return json(200, { ok: true });
    })
    .add('DELETE', '/_sim/groups/:groupId/members/:userId', (_req, p) => {
      sim.removeGroupMember(p.groupId!, p.userId!);
      return json(200, { ok: true });
    })
    .add('GET', '/_sim/users', (req) =>
      json(200, { value: sim.directory.listUsers(req.query.get('tenantId') ?? undefined) }),
    )
    .add('POST', '/_sim/apps', (req) => {
      const b = body(req);
      if (!Array.isArray(b.tenants) || !b.tenants.every((t) => typeof t === 'string'))
        throw new SimUsageError('tenants must be an array of tenant ids');
      return json(
        201,
        sim.addApp({
          tenants: b.tenants,
          ...(typeof b.clientId === 'string' ? { clientId: b.clientId } : {}),
          ...(typeof b.clientSecret === 'string' ? { clientSecret: b.clientSecret } : {}),
          ...(typeof b.displayName === 'string' ? { displayName: b.displayName } : {}),
        }),
      );
    })
    .add('POST', '/_sim/apps/:clientId/consent', (req, p) => {
      const b = body(req);
      const tenantId = str(b.tenantId, 'tenantId');
      if (typeof b.granted !== 'boolean') throw new SimUsageError('granted must be true or false');
      if (b.granted) {
        sim.grantConsent(p.clientId!, tenantId);
        return json(200, { granted: true });
      }
      return json(200, {
        granted: false,
        suspendedSubscriptions: sim.revokeConsent(p.clientId!, tenantId).map((s) => s.id),
      });
    })
    .add('GET', '/_sim/users/:userId/mailFolders', (_req, p) => json(200, { value: sim.mailFolders(p.userId!) }))
    .add('GET', '/_sim/users/:userId/messages', (_req, p) => json(200, { value: sim.listItems('messages', p.userId!) }))
    .add('POST', '/_sim/users/:userId/messages', (req, p) => {
      const { folder, ...fields } = body(req);
      if (folder !== undefined && typeof folder !== 'string') throw new SimUsageError('folder must be a string');
      return json(201, sim.createItem('messages', p.userId!, fields, folder));
    })
    .add('PATCH', '/_sim/users/:userId/messages/:itemId', (req, p) =>
      json(200, sim.updateItem('messages', p.userId!, p.itemId!, body(req))),
    )
    .add('DELETE', '/_sim/users/:userId/messages/:itemId', (_req, p) =>
      json(200, sim.deleteItem('messages', p.userId!, p.itemId!)),
    )
    .add('POST', '/_sim/users/:userId/messages/:itemId/move', (req, p) =>
      json(200, sim.moveMessage(p.userId!, p.itemId!, str(body(req).folder, 'folder'))),
    )
    .add('GET', '/_sim/users/:userId/contacts', (_req, p) => json(200, { value: sim.listItems('contacts', p.userId!) }))
    .add('POST', '/_sim/users/:userId/contacts', (req, p) =>
      json(201, sim.createItem('contacts', p.userId!, body(req))),
    )
    .add('PATCH', '/_sim/users/:userId/contacts/:itemId', (req, p) =>
      json(200, sim.updateItem('contacts', p.userId!, p.itemId!, body(req))),
    )
    .add('DELETE', '/_sim/users/:userId/contacts/:itemId', (_req, p) =>
      json(200, sim.deleteItem('contacts', p.userId!, p.itemId!)),
    )
    .add('GET', '/_sim/users/:userId/events', (_req, p) => json(200, { value: sim.listEvents(p.userId!) }))
    .add('POST', '/_sim/users/:userId/events', (req, p) => {
      const { calendarId, ...fields } = body(req);
      if (calendarId !== undefined && typeof calendarId !== 'string')
        throw new SimUsageError('calendarId must be a string');
      return json(201, sim.createEvent(p.userId!, fields, calendarId));
    })
    .add('GET', '/_sim/users/:userId/calendars', (_req, p) => json(200, { value: sim.listCalendars(p.userId!) }))
    .add('POST', '/_sim/users/:userId/calendars', (req, p) =>
      json(201, sim.addCalendar(p.userId!, str(body(req).name, 'name'))),
    )
    .add('DELETE', '/_sim/users/:userId/calendars/:calendarId', (_req, p) =>
      json(200, sim.removeCalendar(p.userId!, p.calendarId!)),
    )
    .add('PATCH', '/_sim/users/:userId/events/:eventId', (req, p) =>
      json(200, sim.updateEvent(p.userId!, p.eventId!, body(req))),
    )
    .add('DELETE', '/_sim/users/:userId/events/:eventId', (_req, p) =>
      json(200, sim.deleteEvent(p.userId!, p.eventId!)),
    )
    .add('POST', '/_sim/users/:userId/events/:eventId/move', (req, p) => {
      const b = body(req);
      return json(200, sim.moveEvent(p.userId!, p.eventId!, str(b.calendarId, 'calendarId')));
    })
    .add('POST', '/_sim/users/:userId/password-reset', (_req, p) =>
      json(200, { removedSubscriptions: sim.resetPassword(p.userId!).map((s) => s.id) }),
    )
    .add('POST', '/_sim/users/:userId/delta/invalidate', (_req, p) => {
      sim.invalidateDeltaTokens(p.userId!);
      return json(200, { invalidated: true });
    })
    .add('GET', '/_sim/tenants/:tenantId/teams', (_req, p) => json(200, sim.teamsState(p.tenantId!)))
    .add('POST', '/_sim/tenants/:tenantId/teams', (req, p) => {
      const b = body(req);
      return json(
        201,
        sim.addTeam(p.tenantId!, {
          displayName: str(b.displayName, 'displayName'),
          ...(typeof b.id === 'string' ? { id: b.id } : {}),
        }),
      );
    })
    .add('DELETE', '/_sim/teams/:teamId', (_req, p) => json(200, sim.deleteTeam(p.teamId!)))
    .add('POST', '/_sim/teams/:teamId/channels', (req, p) =>
      json(201, sim.addChannel(p.teamId!, { displayName: str(body(req).displayName, 'displayName') })),
    )
    .add('DELETE', '/_sim/teams/:teamId/channels/:channelId', (_req, p) =>
      json(200, sim.deleteChannel(p.teamId!, p.channelId!)),
    )
    .add('POST', '/_sim/teams/:teamId/channels/:channelId/delta/invalidate', (_req, p) => {
      sim.invalidateChannelDelta(p.teamId!, p.channelId!);
      return json(200, { invalidated: true });
    })
    .add('POST', '/_sim/teams/:teamId/channels/:channelId/messages', (req, p) =>
      json(201, sim.postChannelMessage(p.teamId!, p.channelId!, parseMessageInput(body(req)))),
    )
    .add('POST', '/_sim/teams/:teamId/channels/:channelId/messages/:messageId/replies', (req, p) =>
      json(201, sim.replyToChannelMessage(p.teamId!, p.channelId!, p.messageId!, parseMessageInput(body(req)))),
    )
    .add('GET', '/_sim/tenants/:tenantId/chats', (_req, p) => json(200, { value: sim.teamsState(p.tenantId!).chats }))
    .add('POST', '/_sim/tenants/:tenantId/chats', (req, p) => {
      const b = body(req);
      if (b.members !== undefined && (!Array.isArray(b.members) || !b.members.every((m) => typeof m === 'string')))
        throw new SimUsageError('members must be an array of user ids or userPrincipalNames');
      if (b.topic !== undefined && b.topic !== null && typeof b.topic !== 'string')
        throw new SimUsageError('topic must be a string or null');
      return json(
        201,
        sim.addChat(p.tenantId!, {
          chatType: str(b.chatType ?? 'group', 'chatType') as ChatType,
          ...(b.topic !== undefined ? { topic: b.topic } : {}),
          ...(b.members !== undefined ? { members: b.members } : {}),
        }),
      );
    })
    .add('PATCH', '/_sim/chats/:chatId', (req, p) => {
      const { topic } = body(req);
      if (topic !== null && typeof topic !== 'string') throw new SimUsageError('topic must be a string or null');
      return json(200, sim.renameChat(p.chatId!, topic));
    })
    .add('DELETE', '/_sim/chats/:chatId', (_req, p) => json(200, sim.deleteChat(p.chatId!)))
    .add('POST', '/_sim/chats/:chatId/messages', (req, p) =>
      json(201, sim.postChatMessage(p.chatId!, parseMessageInput(body(req)))),
    );
  // A message of a channel (a root or a reply, by its id) or of a chat: edit, softDelete, undoSoftDelete, purge.
  const refs: Array<[string, (p: Record<string, string>) => TeamsMessageRef]> = [
    [
      '/_sim/teams/:teamId/channels/:channelId/messages/:messageId',
      (p) => ({ teamId: p.teamId!, channelId: p.channelId!, messageId: p.messageId! }),
    ],
    ['/_sim/chats/:chatId/messages/:messageId', (p) => ({ chatId: p.chatId!, messageId: p.messageId! })],
  ];
  for (const [path, ref] of refs)
    router
      .add('PATCH', path, (req, p) => json(200, sim.editTeamsMessage(ref(p), parseMessageInput(body(req)))))
      .add('POST', `${path}/softDelete`, (_req, p) => json(200, sim.softDeleteTeamsMessage(ref(p))))
      .add('POST', `${path}/undoSoftDelete`, (_req, p) => json(200, sim.undoSoftDeleteTeamsMessage(ref(p))))
      .add('DELETE', path, (_req, p) => json(200, sim.purgeTeamsMessage(ref(p))));
  return router
    .add('GET', '/_sim/subscriptions', () => json(200, { value: sim.subscriptions.all().map(subscriptionView) }))
    .add('POST', '/_sim/subscriptions/:id/lifecycle', (req, p) => {
      const event = str(body(req).event, 'event');
      if (!LIFECYCLE.has(event)) throw new SimUsageError(`event must be one of ${[...LIFECYCLE].join(', ')}`);
      sim.lifecycle(p.id!, event as 'missed');
      return json(202, { sent: event });
    })
    .add('POST', '/_sim/subscriptions/:id/expire-authorization', (_req, p) => {
      sim.expireAuthorization(p.id!);
      return json(200, { paused: true });
    })
    .add('GET', '/_sim/faults', () => json(200, { faults: sim.faults.current, rules: sim.faults.listRules() }))
    .add('PATCH', '/_sim/faults', (req) => json(200, { faults: sim.setFaults(body(req)) }))
    .add('POST', '/_sim/faults/rules', (req) => {
      const b = body(req);
      return json(
        201,
        sim.addFaultRule({
          status: Number(b.status),
          ...(typeof b.method === 'string' ? { method: b.method } : {}),
          ...(typeof b.pathContains === 'string' ? { pathContains: b.pathContains } : {}),
          ...(b.retryAfterSeconds !== undefined ? { retryAfterSeconds: Number(b.retryAfterSeconds) } : {}),
          ...(b.count !== undefined ? { count: Number(b.count) } : {}),
        }),
      );
    })
    .add('DELETE', '/_sim/faults', () => {
      sim.clearFaults();
      return json(200, { faults: sim.faults.current, rules: [] });
    })
    .add('GET', '/_sim/endpoints', () => json(200, sim.health.snapshot()))
    .add('PUT', '/_sim/endpoints', (req) => {
      const b = body(req);
      const minutes = b.forMinutes === undefined ? undefined : Number(b.forMinutes);
      sim.setEndpointState(
        str(b.url, 'url'),
        str(b.state, 'state') as 'slow',
        minutes === undefined ? undefined : minutes * 60_000,
      );
      return json(200, sim.health.snapshot());
    })
    .add('GET', '/_sim/clock', () => json(200, { now: sim.clock.nowIso(), speed: sim.clock.speed }))
    .add('POST', '/_sim/clock', (req) => {
      const b = body(req);
      const advanceMs = Number(b.advanceMs ?? 0) + Number(b.advanceMinutes ?? 0) * 60_000;
      if (!(advanceMs >= 0)) throw new SimUsageError('advanceMs/advanceMinutes must be numbers >= 0');
      if (advanceMs) sim.clock.advance(advanceMs);
      if (b.speed !== undefined) sim.clock.setSpeed(Number(b.speed));
      return json(200, { now: sim.clock.nowIso(), speed: sim.clock.speed });
    })
    .add('GET', '/_sim/records/requests', (req) => {
      const path = req.query.get('pathContains')?.toLowerCase();
      const all = sim.records.requests.all().slice(since(req));
      return json(200, {
        evicted: sim.records.requests.evicted,
        value: path ? all.filter((r) => r.path.toLowerCase().includes(path)) : all,
      });
    })
    .add('GET', '/_sim/records/deliveries', (req) =>
      json(200, { evicted: sim.records.attempts.evicted, value: sim.records.attempts.all().slice(since(req)) }),
    )
    .add('GET', '/_sim/records/notifications', (req) =>
      json(200, {
        evicted: sim.records.notificationsEvicted,
        value: sim.notifications({
          ...(req.query.get('state') ? { state: req.query.get('state')! } : {}),
          ...(req.query.get('subscriptionId') ? { subscriptionId: req.query.get('subscriptionId')! } : {}),
          ...(req.query.get('kind') ? { kind: req.query.get('kind')! } : {}),
          ...(req.query.get('droppedReason') ? { droppedReason: req.query.get('droppedReason')! } : {}),
        }),
      }),
    )
    .add('GET', '/_sim/records/warnings', () => json(200, { value: sim.records.warnings.all() }))
    .add('DELETE', '/_sim/records', () => {
      sim.records.clear();
      return json(200, { cleared: true });
    });
}

export async function handleControl(router: Router<void>, req: SimRequest): Promise<SimResponse> {
  try {
    const match = router.match(req.method, req.path);
    if (match.kind === 'none')
      throw new SimUsageError(`no control endpoint ${req.method} ${req.path}; see the graph-sim README`, 404);
    if (match.kind === 'wrong-method') throw new SimUsageError(`${req.path} accepts ${match.allowed.join(', ')}`, 405);
    return await match.handler(req, match.params);
  } catch (err) {
    if (err instanceof SimUsageError) return usageErrorResponse(err);
    if (err instanceof RangeError) return usageErrorResponse(new SimUsageError(err.message));
    if (err instanceof GraphError) return graphErrorResponse(err, req.requestId, undefined, new Date().toISOString());
    throw err;
  }
}
