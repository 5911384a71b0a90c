import type { TokenIssuer } from './auth/token-issuer.ts';
import type { Calendar, StoredEvent } from './calendar.ts';
import { renderEvent } from './calendar.ts';
import type { SimCalendar } from './calendars.ts';
import type { SimClock } from './clock.ts';
import type { Redelivery } from './delivery/dispatcher.ts';
import type { EndpointHealth, EndpointState } from './delivery/endpoint-health.ts';
import { deliveryWindowMs } from './delivery/window.ts';
import type { Directory, NewUser } from './directory.ts';
import type { DirectoryKind, DirectoryObjects } from './directory-objects.ts';
import { SimUsageError } from './errors.ts';
import type { FaultRule, FaultRuleInput, Faults } from './faults.ts';
import type { DeltaService } from './graph/delta.ts';
import type { MailRoutes } from './graph/mail-routes.ts';
import { guid } from './ids.ts';
import type { ItemKind, OutlookItems, StoredItem } from './mail.ts';
import type { FaultOptions, GraphSimOptions, SeedApp } from './options.ts';
import type { Records } from './records.ts';
import type { SubscriptionService } from './subscriptions.ts';
import type {
  ChatType,
  MessageInput,
  MessagePlace,
  StoredChannel,
  StoredMessage,
  StoredTeam,
  TeamsJson,
  TeamsStore,
} from './teams.ts';
import {
  TEAMS_KINDS,
  type LifecycleEvent,
  type NotificationRecord,
  type SimRoomList,
  type SimUser,
  type Subscription,
} from './types.ts';
import {
  eventView,
  itemView,
  teamsStateView,
  type GraphSimUrls,
  type SimEventView,
  type SimItemView,
  type SimTeamsState,
} from './views.ts';
import type { SimParts } from './wiring.ts';

/** What the control API (and a test holding the simulator) does to the simulated tenant, clock and faults. */
export class SimOperations {
  readonly options: GraphSimOptions;
  readonly clock: SimClock;
  readonly records: Records;
  readonly directory: Directory;
  readonly calendar: Calendar;
  readonly faults: Faults;
  readonly health: EndpointHealth;
  readonly subscriptions: SubscriptionService;
  readonly delta: DeltaService;
  /** Messages (in mail folders) and contacts. */
  readonly items: OutlookItems;
  readonly mail: MailRoutes;
  /** Directory users and groups as notifications and delta see them. */
  readonly directoryObjects: DirectoryObjects;
  /** Teams: teams, channels, chats and their messages. */
  readonly teams: TeamsStore;
  readonly caCertPem: string;

  protected readonly parts: SimParts;

  constructor(parts: SimParts) {
    this.parts = parts;
    this.options = parts.options;
    this.clock = parts.clock;
    this.records = parts.records;
    this.directory = parts.directory;
    this.calendar = parts.calendar;
    this.faults = parts.faults;
    this.health = parts.health;
    this.subscriptions = parts.subscriptions;
    this.delta = parts.delta;
    this.items = parts.items;
    this.mail = parts.mail;
    this.directoryObjects = parts.directoryObjects;
    this.teams = parts.teams;
    this.caCertPem = parts.caCertPem;
  }

  /** Where the simulator listens (set once its server has started). */
  get urls(): GraphSimUrls {
    return this.parts.site.urls!;
  }

  /** The first seeded tenant, app and users: what a quick start needs. */
  get defaults(): { tenantId: string; clientId: string; clientSecret: string; users: SimUser[] } {
    const tenant = this.options.tenants[0];
    const app = this.options.apps[0];
    if (!tenant || !app) throw new SimUsageError('the simulator was started without tenants or apps');
    return {
      tenantId: tenant.id,
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      users: this.directory.listUsers(tenant.id),
    };
  }

  addTenant(input: { id?: string; domain: string }) {
    return this.directory.addTenant({ id: input.id ?? guid(), domain: input.domain });
  }

  addUser(tenantId: string, input: NewUser): SimUser {
    const user = this.directory.addUser(tenantId, input);
    this.directoryObjects.created('users', user.id);
    return user;
  }

  /** Changes a directory user or group (`/users` and `/groups` subscriptions hear `updated`). */
  updateDirectoryObject(kind: DirectoryKind, id: string, input: Record<string, unknown>): void {
    this.directoryObjects.update(kind, id, input);
  }

  /** Deletes a directory user or group for good (`deleted`; reads answer 404 Request_ResourceNotFound). */
  deleteDirectoryObject(kind: DirectoryKind, id: string): void {
    this.directoryObjects.delete(kind, id);
  }

  /** A security group of the tenant's users (the subscription manager can subscribe to its members). */
  addGroup(tenantId: string, input: { id?: string; displayName: string; members: string[] }) {
    const group = this.directory.addGroup(tenantId, input);
    this.directoryObjects.created('groups', group.id);
    return group;
  }

  /** Adds a user to a group: the `/groups` subscription hears `updated`, and the members list shows it. */
  addGroupMember(groupId: string, userId: string): void {
    const group = this.directory.groups.get(groupId);
    if (!group) throw new SimUsageError(`no group ${groupId}`, 404);
    const user = this.directory.findUser(userId, group.tenantId);
    if (!user) throw new SimUsageError(`no user ${userId} in the group's tenant`, 404);
    group.members.add(user.id);
    this.directoryObjects.touched('groups', group.id);
  }

  /** Removes a user from a group (`updated` for the group). */
  removeGroupMember(groupId: string, userId: string): void {
    const group = this.directory.groups.get(groupId);
    if (!group) throw new SimUsageError(`no group ${groupId}`, 404);
    const user = this.directory.findUser(userId, group.tenantId);
    if (!user || !group.members.delete(user.id))
      throw new SimUsageError(`user ${userId} is not a member of group ${groupId}`, 404);
    this.directoryObjects.touched('groups', group.id);
  }

  addApp(input: Partial<SeedApp> & { tenants: string[] }) {
    const app = this.directory.addApp({
      clientId: input.clientId ?? guid(),
      clientSecret: input.clientSecret ?? guid(),
      displayName: input.displayName ?? 'graph-sim app',
      tenants: input.tenants,
    });
    return { clientId: app.clientId, clientSecret: app.clientSecret, tenants: [...app.consentedTenants] };
  }

  /** Admin consent given back: subscriptions can be reauthorized again. */
  grantConsent(clientId: string, tenantId: string): void {
    this.directory.grant(clientId, tenantId);
  }

  /** Admin revoked consent: tokens and Graph calls are refused, deliveries pause, reauthorizationRequired is sent. */
  revokeConsent(clientId: string, tenantId: string): Subscription[] {
    this.directory.revoke(clientId, tenantId);
    return this.subscriptions.suspend(clientId, tenantId);
  }

  /** A new event in the mailbox's default calendar, or in the one `calendarId` names. */
  createEvent(userId: string, input: Record<string, unknown>, calendarId?: string): SimEventView {
    return this.view(this.calendar.create(this.parts.user(userId), input, calendarId));
  }

  updateEvent(userId: string, eventId: string, input: Record<string, unknown>): SimEventView {
    return this.view(this.calendar.update(this.parts.user(userId).id, eventId, input));
  }

  deleteEvent(userId: string, eventId: string): SimEventView {
    return this.view(this.calendar.delete(this.parts.user(userId).id, eventId));
  }

  /** Moves an event to another calendar of its mailbox (an id, or `calendar` for the default one). */
  moveEvent(userId: string, eventId: string, calendarId: string): SimEventView {
    return this.view(this.calendar.move(this.parts.user(userId).id, eventId, calendarId));
  }

  /** A mailbox's calendars, the default one first. */
  listCalendars(userId: string): SimCalendar[] {
    return this.calendar.calendars.list(this.parts.user(userId).id);
  }

  /** A new calendar in a mailbox. */
  addCalendar(userId: string, name: string): SimCalendar {
    return this.calendar.calendars.add(this.parts.user(userId).id, name);
  }

  /** Removes a calendar and its events (nothing is notified: see Calendar.removeCalendar). */
  removeCalendar(userId: string, calendarId: string): { calendarId: string; events: number } {
    return this.calendar.removeCalendar(this.parts.user(userId).id, calendarId);
  }

  /** A room list of the Places API; rooms join it when they are added (`roomList`). */
  addRoomList(tenantId: string, input: { displayName: string; emailAddress: string }): SimRoomList {
    return this.directory.addRoomList(tenantId, input);
  }

  listEvents(userId: string): SimEventView[] {
    return this.calendar.forUser(this.parts.user(userId).id).map((e) => this.view(e));
  }

  /** A team of the tenant (no notification: Graph has no Teams subscription for teams themselves here). */
  addTeam(tenantId: string, input: { displayName: string; id?: string }) {
    if (!this.directory.tenants.has(tenantId)) throw new SimUsageError(`no tenant ${tenantId}`, 404);
    return teamView(this.teams.addTeam(tenantId, input));
  }

  /** A standard channel of a team. */
  addChannel(teamId: string, input: { displayName: string }) {
    return channelView(this.teams.addChannel(teamId, input));
  }

  /** Deletes a team and its channels: reads of them and their messages answer 404 (nothing is notified). */
  deleteTeam(teamId: string) {
    return teamView(this.teams.deleteTeam(teamId));
  }

  deleteChannel(teamId: string, channelId: string) {
    return channelView(this.teams.deleteChannel(teamId, channelId));
  }

  /** A chat of the tenant (`/chats` subscriptions hear `created`); returns it as Graph's JSON shows it. */
  addChat(tenantId: string, input: { chatType: ChatType; topic?: string | null; members?: string[] }) {
    if (!this.directory.tenants.has(tenantId)) throw new SimUsageError(`no tenant ${tenantId}`, 404);
    return this.teams.chatJson(this.teams.addChat(tenantId, input), this.urls.graph);
  }

  /** A new topic (`updated` for `/chats` subscriptions). */
  renameChat(chatId: string, topic: string | null) {
    return this.teams.chatJson(this.teams.renameChat(chatId, topic), this.urls.graph);
  }

  /** Deletes a chat: it and its messages read 404 (nothing is notified). */
  deleteChat(chatId: string) {
    return this.teams.chatJson(this.teams.deleteChat(chatId), this.urls.graph);
  }

  /** A root message in a channel (`created`); Graph's JSON of it. */
  postChannelMessage(teamId: string, channelId: string, input: MessageInput): TeamsJson {
    return this.messageJson(this.teams.post({ kind: 'channel', teamId, channelId }, input));
  }

  replyToChannelMessage(teamId: string, channelId: string, messageId: string, input: MessageInput) {
    return this.messageJson(this.teams.reply(teamId, channelId, messageId, input));
  }

  postChatMessage(chatId: string, input: MessageInput): TeamsJson {
    return this.messageJson(this.teams.post({ kind: 'chat', chatId }, input));
  }

  /** An edit of a channel message, a reply (by its id) or a chat message (`updated`). */
  editTeamsMessage(ref: TeamsMessageRef, input: MessageInput): TeamsJson {
    return this.messageJson(this.teams.edit(place(ref), ref.messageId, input));
  }

  /** Graph's softDelete (`deleted`): the message stays readable, emptied, with `deletedDateTime`. */
  softDeleteTeamsMessage(ref: TeamsMessageRef): TeamsJson {
    return this.messageJson(this.teams.softDelete(place(ref), ref.messageId));
  }

  /** Graph's undoSoftDelete (`updated`). */
  undoSoftDeleteTeamsMessage(ref: TeamsMessageRef): TeamsJson {
    return this.messageJson(this.teams.undoSoftDelete(place(ref), ref.messageId));
  }

  /** A hard delete (a retention purge; a root takes its replies with it): each heard as `deleted`; reads 404. */
  purgeTeamsMessage(ref: TeamsMessageRef): { purged: string[] } {
    return { purged: this.teams.purge(place(ref), ref.messageId).map((m) => m.id) };
  }

  /** Makes the channel's delta tokens invalid: their next use answers 410. */
  invalidateChannelDelta(teamId: string, channelId: string): void {
    const channel = [...this.teams.teamChannels(teamId)].find((c) => c.id === channelId);
    if (!channel) throw new SimUsageError(`no channel ${channelId} in team ${teamId}`, 404);
    this.parts.teamsRoutes.invalidate(channel.id);
  }

  /**
   * The tenant's Teams as Graph has them now: teams, channels, their root messages and replies, chats and their
   * messages (soft-deleted ones included, they still exist; purged ones and deleted containers left out).
   */
  teamsState(tenantId: string): SimTeamsState {
    return teamsStateView(this.teams, tenantId, this.urls.graph);
  }

  /**
   * A rich POST's validation token for an app and tenant, as graph-sim's deliveries carry them; `forge` bends
   * it (another signing key, claims, expiry) for tests of a receiver's checks. The signing keys are published
   * at `{authority}/common/discovery/v2.0/keys`.
   */
  validationToken(
    appId: string,
    tenantId: string,
    forge?: Parameters<TokenIssuer['validationToken']>[3],
  ): Promise<string> {
    return this.parts.issuer.validationToken(appId, tenantId, this.urls.authority, forge);
  }

  /** Graph's JSON for an event as a GET would return it (`immutable` picks the id flavour). */
  eventJson(userId: string, eventId: string, immutable = true): Record<string, unknown> {
    const user = this.parts.user(userId);
    const event = this.calendar.find(user.id, eventId);
    if (!event) throw new SimUsageError(`user ${userId} has no event ${eventId}`, 404);
    return renderEvent(event, user, immutable, this.urls.graph);
  }

  /** A message (in `folder`, an id or well-known name; default inbox) or contact, as Graph's JSON shows it. */
  createItem(kind: ItemKind, userId: string, input: Record<string, unknown>, folder?: string): SimItemView {
    return this.itemView(this.items.create(kind, this.parts.user(userId), folder, input));
  }

  updateItem(kind: ItemKind, userId: string, id: string, input: Record<string, unknown>): SimItemView {
    return this.itemView(this.items.update(kind, this.parts.user(userId).id, id, input));
  }

  deleteItem(kind: ItemKind, userId: string, id: string): SimItemView {
    return this.itemView(this.items.delete(kind, this.parts.user(userId).id, id));
  }

  /** Files a message into another folder (id or well-known name): Graph's `move`. */
  moveMessage(userId: string, id: string, folder: string): SimItemView {
    return this.itemView(this.items.move(this.parts.user(userId).id, id, folder));
  }

  listItems(kind: ItemKind, userId: string): SimItemView[] {
    return this.items.forUser(kind, this.parts.user(userId).id).map((i) => this.itemView(i));
  }

  /** A mailbox's mail folders: id, well-known name, display name. */
  mailFolders(userId: string) {
    return this.items.folders(this.parts.user(userId).id, 'messages');
  }

  /** A password reset: Graph removes the mailbox's subscriptions and says so with `subscriptionRemoved`. */
  resetPassword(userId: string): Subscription[] {
    const user = this.parts.user(userId);
    return this.subscriptions.forMailbox(user.id).map((s) => this.subscriptions.removeWithNotice(s.id));
  }

  /** Sends a lifecycle notification now; `subscriptionRemoved` also removes the subscription. */
  lifecycle(subscriptionId: string, event: LifecycleEvent): void {
    if (event === 'subscriptionRemoved') {
      this.subscriptions.removeWithNotice(subscriptionId);
      return;
    }
    const sub = this.subscriptions.byId(subscriptionId);
    if (!sub) throw new SimUsageError(`subscription ${subscriptionId} does not exist`, 404);
    if (event === 'missed' && TEAMS_KINDS.has(sub.kind))
      throw new SimUsageError('Graph sends no missed lifecycle event for Teams resources');
    if (event === 'reauthorizationRequired') sub.reauthorizationNoticeSentMs = this.clock.now();
    this.parts.notifier.lifecycle(sub, event);
  }

  /**
   * Load tests: one subscription per given mailbox, inserted directly (no handshake, no throttle), so a
   * benchmark can start from 10,000 live subscriptions without first spending the time creating them.
   */
  seedSubscriptions(input: {
    userIds: string[];
    notificationUrl: string;
    lifecycleNotificationUrl?: string;
    expiresInMinutes: number;
    appId?: string;
    /** The mailbox collection subscribed to (`/users/{id}/{kind}`); events when not given. */
    kind?: 'events' | 'messages' | 'contacts';
  }): Array<{
    id: string;
    userId: string;
    tenantId: string;
    resource: string;
    clientState: string;
    expirationDateTime: string;
  }> {
    const appId = input.appId ?? this.defaults.clientId;
    return input.userIds.map((userId) => {
      const user = this.parts.user(userId);
      const clientState = guid();
      const sub = this.subscriptions.seed({
        appId,
        tenantId: user.tenantId,
        userId: user.id,
        notificationUrl: input.notificationUrl,
        ...(input.lifecycleNotificationUrl ? { lifecycleNotificationUrl: input.lifecycleNotificationUrl } : {}),
        clientState,
        expirationMs: this.clock.now() + input.expiresInMinutes * 60_000,
        ...(input.kind ? { kind: input.kind } : {}),
      });
      return {
        id: sub.id,
        userId: user.id,
        tenantId: user.tenantId,
        resource: sub.resource,
        clientState,
        expirationDateTime: new Date(sub.expirationMs).toISOString(),
      };
    });
  }

  /** Graph drops a subscription without a word (as when one expires unrenewed): no lifecycle notification. */
  removeSubscription(subscriptionId: string): void {
    if (!this.subscriptions.byId(subscriptionId))
      throw new SimUsageError(`subscription ${subscriptionId} does not exist`, 404);
    this.subscriptions.removeSilently(subscriptionId);
  }

  /** Expires a subscription's authorization now: deliveries pause until it is renewed or reauthorized. */
  expireAuthorization(subscriptionId: string): void {
    const sub = this.subscriptions.byId(subscriptionId);
    if (!sub) throw new SimUsageError(`subscription ${subscriptionId} does not exist`, 404);
    sub.authorizedUntilMs = this.clock.now() - 1;
  }

  /** Changes delivery settings at run time (e.g. notifications per POST for a benchmark phase). */
  setDelivery(patch: Partial<GraphSimOptions['delivery']>): void {
    Object.assign(this.options.delivery, patch);
  }

  setFaults(patch: Partial<FaultOptions>): FaultOptions {
    return this.faults.update(patch);
  }

  addFaultRule(rule: FaultRuleInput): FaultRule {
    return this.faults.addRule(rule);
  }

  clearFaults(): void {
    this.faults.reset(this.options.faults);
  }

  setEndpointState(url: string, state: EndpointState, forMs = this.options.delivery.dropForMs): void {
    if (!['normal', 'slow', 'drop'].includes(state))
      throw new SimUsageError(`endpoint state must be normal, slow or drop, got ${String(state)}`);
    this.health.force(url, state, forMs);
  }

  invalidateDeltaTokens(userId: string): void {
    this.delta.invalidate(this.parts.user(userId).id);
    this.mail.invalidate(this.parts.user(userId).id);
  }

  notifications(
    filter: { state?: string; subscriptionId?: string; kind?: string; droppedReason?: string } = {},
  ): NotificationRecord[] {
    return this.records
      .allNotifications()
      .filter(
        (n) =>
          (!filter.state || n.state === filter.state) &&
          (!filter.subscriptionId || n.subscriptionId === filter.subscriptionId) &&
          (!filter.kind || n.kind === filter.kind) &&
          (!filter.droppedReason || n.droppedReason === filter.droppedReason),
      );
  }

  /**
   * The failed POSTs graph-sim will try again, earliest first, each with the real ms until its retry (`inMs`):
   * what a caller waits for when a subscriber answered 503 or did not answer in time.
   */
  redeliveries(): Array<Redelivery & { inMs: number }> {
    const now = this.clock.now();
    return this.parts.dispatcher
      .redeliveries()
      .map((r) => ({ ...r, inMs: Math.max(0, Math.ceil((r.atMs - now) / this.clock.speed)) }));
  }

  /** `deliveryWindowMs` at this simulator's options and clock speed. */
  deliveryWindowMs(redeliveries: number): number {
    return deliveryWindowMs(this.options.delivery, this.clock.speed, redeliveries);
  }

  /**
   * Resolves once no notification is pending (all delivered or dropped), or rejects after `timeoutMs` real ms
   * with what is still pending — so a test fails with a reason instead of hanging.
   */
  async settled(timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const pending = this.notifications({ state: 'pending' });
      if (!pending.length && !this.parts.dispatcher.busy) return;
      if (performance.now() > deadline) {
        throw new Error(
          `graph-sim: ${pending.length} notification(s) still pending after ${timeoutMs} ms; dispatcher ${JSON.stringify(this.parts.dispatcher.state())}; clock ${this.clock.nowIso()}, next timer at ${new Date(this.clock.nextDueAt() ?? 0).toISOString()}; first pending: ${JSON.stringify(pending[0])}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private messageJson(m: StoredMessage): TeamsJson {
    return this.teams.json(m, this.urls.graph);
  }

  private view(event: StoredEvent): SimEventView {
    return eventView(event, this.parts.user(event.userId), this.urls.graph);
  }

  private itemView(item: StoredItem): SimItemView {
    return itemView(item, this.parts.user(item.userId), this.urls.graph);
  }
}

/** A Teams message: in a channel (a root or a reply, by its id) or in a chat. */
export type TeamsMessageRef =
  { teamId: string; channelId: string; messageId: string } | { chatId: string; messageId: string };

const place = (ref: TeamsMessageRef): MessagePlace =>
  'chatId' in ref
    ? { kind: 'chat', chatId: ref.chatId }
    : { kind: 'channel', teamId: ref.teamId, channelId: ref.channelId };

const teamView = (t: StoredTeam) => ({
  id: t.id,
  tenantId: t.tenantId,
  displayName: t.displayName,
  createdDateTime: new Date(t.createdMs).toISOString(),
});

const channelView = (c: StoredChannel) => ({
  id: c.id,
  teamId: c.teamId,
  tenantId: c.tenantId,
  displayName: c.displayName,
  membershipType: 'standard' as const,
  createdDateTime: new Date(c.createdMs).toISOString(),
});
