import type { Server } from 'node:https';
import { handleLogin, loginRouter } from './auth/login-routes.ts';
import { TokenIssuer } from './auth/token-issuer.ts';
import { Calendar, renderEvent, type CalendarChange, type StoredEvent } from './calendar.ts';
import type { SimCalendar } from './calendars.ts';
import { encryptResource } from './rich/encrypt.ts';
import { project } from './graph/select.ts';
import { SimClock } from './clock.ts';
import { controlRouter, handleControl } from './control/routes.ts';
import { deliveryWindowMs } from './delivery/window.ts';
import { Dispatcher, type Redelivery } from './delivery/dispatcher.ts';
import { EndpointHealth, type EndpointState } from './delivery/endpoint-health.ts';
import { Directory, type NewUser } from './directory.ts';
import { SimUsageError } from './errors.ts';
import { Faults, type FaultRule, type FaultRuleInput } from './faults.ts';
import { DeltaService } from './graph/delta.ts';
import { GraphApi } from './graph/graph-api.ts';
import { MailRoutes } from './graph/mail-routes.ts';
import { DirectoryRoutes } from './graph/directory-routes.ts';
import { DirectoryObjects, type DirectoryChange, type DirectoryKind } from './directory-objects.ts';
import { OutlookItems, renderItem, type ItemChange, type ItemKind, type StoredItem } from './mail.ts';
import { startHttpsServer } from './http/server.ts';
import { guid } from './ids.ts';
import {
  resolveOptions,
  type FaultOptions,
  type GraphSimInput,
  type GraphSimOptions,
  type SeedApp,
} from './options.ts';
import { SeededRandom } from './random.ts';
import { Records } from './records.ts';
import { SubscriptionService } from './subscriptions.ts';
import { makeTlsMaterial } from './tls.ts';
import type {
  ChangeNotification,
  ChangeType,
  LifecycleEvent,
  NotificationRecord,
  SimRequest,
  SimResponse,
  SimRoomList,
  SimUser,
  Subscription,
} from './types.ts';

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

const MISSED_DEBOUNCE_MS = 60_000;

/** The simulator: one HTTPS server for login, Graph v1.0 and the `/_sim` control API. */
export class GraphSim {
  readonly options: GraphSimOptions;
  readonly clock: SimClock;
  readonly records: Records;
  readonly directory = new Directory();
  readonly calendar: Calendar;
  readonly faults: Faults;
  private readonly issuer: TokenIssuer;
  readonly health: EndpointHealth;
  readonly subscriptions: SubscriptionService;
  readonly delta: DeltaService;
  /** Messages (in mail folders) and contacts. */
  readonly items: OutlookItems;
  readonly mail: MailRoutes;
  /** Directory users and groups as notifications and delta see them. */
  readonly directoryObjects: DirectoryObjects;
  readonly caCertPem: string;
  urls!: GraphSimUrls;

  private readonly random: SeededRandom;
  private readonly dispatcher: Dispatcher;
  private readonly graph: GraphApi;
  private readonly login;
  private readonly control;
  private server: Server | undefined;
  private readonly lastMissed = new Map<string, number>();

  private constructor(
    options: GraphSimOptions,
    issuer: TokenIssuer,
    clock: SimClock,
    random: SeededRandom,
    caCertPem: string,
  ) {
    this.options = options;
    this.clock = clock;
    this.random = random;
    this.caCertPem = caCertPem;
    this.records = new Records(options.maxRecords);
    this.calendar = new Calendar(() => clock.now());
    this.faults = new Faults(options.faults, random);
    this.health = new EndpointHealth(clock, options.delivery);
    this.delta = new DeltaService(this.calendar, options.deltaPageSize);
    this.items = new OutlookItems(
      () => clock.now(),
      () => this.calendar.nextSeq(),
    );
    this.mail = new MailRoutes(this.items, () => this.calendar.currentSeq, options.deltaPageSize);
    this.directoryObjects = new DirectoryObjects(this.directory, () => this.calendar.nextSeq());
    this.subscriptions = new SubscriptionService({
      clock,
      directory: this.directory,
      records: this.records,
      options: options.subscriptions,
      throttling: options.throttling,
      retryAfterSeconds: (ms) => Math.max(1, Math.ceil(ms / clock.speed / 1000)),
      sendLifecycle: (sub, event) => this.sendLifecycle(sub, event),
      mailFolder: (userId, ref) => this.items.folder(userId, 'messages', ref)?.id,
      calendar: (userId, ref) => this.calendar.calendars.list(userId).find((c) => c.id === ref)?.id,
      onHandshake: (r) =>
        this.records.attempts.push({
          deliveryId: guid(),
          url: r.url,
          kind: 'handshake',
          attempt: 1,
          notificationIds: [],
          at: clock.nowIso(),
          durationMs: Math.round(r.durationMs),
          ...(r.status !== undefined ? { status: r.status } : {}),
          ...(r.error !== undefined ? { error: r.error } : {}),
          outcome:
            r.error === undefined
              ? 'delivered'
              : r.error === 'timeout'
                ? 'timeout'
                : r.status !== undefined
                  ? 'rejected'
                  : 'error',
        }),
    });
    this.dispatcher = new Dispatcher({
      clock,
      options: options.delivery,
      faults: this.faults,
      health: this.health,
      records: this.records,
      subscriptionState: (sub) =>
        !this.subscriptions.byId(sub.id) ? 'gone' : this.subscriptions.isAuthorized(sub) ? 'active' : 'paused',
      onLost: (sub) => this.notifyMissed(sub),
      validationTokens: (pairs) =>
        Promise.all(pairs.map((p) => issuer.validationToken(p.appId, p.tenantId, this.urls.authority))),
    });
    this.issuer = issuer;
    this.graph = new GraphApi({
      options,
      clock,
      random,
      issuer,
      directory: this.directory,
      calendar: this.calendar,
      delta: this.delta,
      mail: this.mail,
      directoryRoutes: new DirectoryRoutes(
        this.directoryObjects,
        () => this.calendar.currentSeq,
        options.deltaPageSize,
      ),
      subscriptions: this.subscriptions,
      faults: this.faults,
      records: this.records,
      graphBase: () => this.urls.graph,
    });
    this.login = loginRouter({
      authority: () => this.urls.authority,
      graphOrigin: () => this.urls.base,
      clock,
      directory: this.directory,
      faults: this.faults,
      issuer,
      onTokenIssued: () => undefined,
    });
    this.control = controlRouter(this);
    this.calendar.onChange((change) => this.notifyChange(change));
    this.items.onChange((change) => this.notifyItemChange(change));
    this.directoryObjects.onChange((change) => this.notifyDirectoryChange(change));
    for (const tenant of options.tenants) {
      this.directory.addTenant(tenant);
      for (const user of tenant.users) this.directory.addUser(tenant.id, user);
      for (let i = 1; i <= options.extraUsersPerTenant; i++) {
        const n = String(i).padStart(4, '0');
        this.directory.addUser(tenant.id, {
          userPrincipalName: `user-${n}@${tenant.domain}`,
          displayName: `User ${n}`,
        });
      }
    }
    for (const app of options.apps) this.directory.addApp(app);
  }

  static async start(input: GraphSimInput = {}): Promise<GraphSim> {
    const options = resolveOptions(input);
    const clock = new SimClock(options.clockStartMs, options.clockSpeed);
    const random = new SeededRandom(options.seed);
    const [tls, issuer] = await Promise.all([
      makeTlsMaterial(),
      TokenIssuer.create(clock, random, options.tokenLifetimeMinutes),
    ]);
    const sim = new GraphSim(options, issuer, clock, random, tls.certPem);
    const { server, port } = await startHttpsServer(tls, options.host, options.port, (req) => sim.route(req));
    sim.server = server;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const base = `https://${host}:${port}`;
    sim.urls = { base, authority: base, graph: `${base}/v1.0`, control: `${base}/_sim` };
    return sim;
  }

  async stop(): Promise<void> {
    this.dispatcher.stop();
    this.subscriptions.dispose();
    this.clock.dispose();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
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

  // ---- control surface (also served over HTTP under /_sim) ----

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
    return this.view(this.calendar.create(this.user(userId), input, calendarId));
  }

  updateEvent(userId: string, eventId: string, input: Record<string, unknown>): SimEventView {
    return this.view(this.calendar.update(this.user(userId).id, eventId, input));
  }

  deleteEvent(userId: string, eventId: string): SimEventView {
    return this.view(this.calendar.delete(this.user(userId).id, eventId));
  }

  /** Moves an event to another calendar of its mailbox (an id, or `calendar` for the default one). */
  moveEvent(userId: string, eventId: string, calendarId: string): SimEventView {
    return this.view(this.calendar.move(this.user(userId).id, eventId, calendarId));
  }

  /** A mailbox's calendars, the default one first. */
  listCalendars(userId: string): SimCalendar[] {
    return this.calendar.calendars.list(this.user(userId).id);
  }

  /** A new calendar in a mailbox. */
  addCalendar(userId: string, name: string): SimCalendar {
    return this.calendar.calendars.add(this.user(userId).id, name);
  }

  /** Removes a calendar and its events (nothing is notified: see Calendar.removeCalendar). */
  removeCalendar(userId: string, calendarId: string): { calendarId: string; events: number } {
    return this.calendar.removeCalendar(this.user(userId).id, calendarId);
  }

  /** A room list of the Places API; rooms join it when they are added (`roomList`). */
  addRoomList(tenantId: string, input: { displayName: string; emailAddress: string }): SimRoomList {
    return this.directory.addRoomList(tenantId, input);
  }

  listEvents(userId: string): SimEventView[] {
    return this.calendar.forUser(this.user(userId).id).map((e) => this.view(e));
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
    return this.issuer.validationToken(appId, tenantId, this.urls.authority, forge);
  }

  /** Graph's JSON for an event as a GET would return it (`immutable` picks the id flavour). */
  eventJson(userId: string, eventId: string, immutable = true): Record<string, unknown> {
    const user = this.user(userId);
    const event = this.calendar.find(user.id, eventId);
    if (!event) throw new SimUsageError(`user ${userId} has no event ${eventId}`, 404);
    return renderEvent(event, user, immutable, this.urls.graph);
  }

  /** A message (in `folder`, an id or well-known name; default inbox) or contact, as Graph's JSON shows it. */
  createItem(kind: ItemKind, userId: string, input: Record<string, unknown>, folder?: string): SimItemView {
    return this.itemView(this.items.create(kind, this.user(userId), folder, input));
  }

  updateItem(kind: ItemKind, userId: string, id: string, input: Record<string, unknown>): SimItemView {
    return this.itemView(this.items.update(kind, this.user(userId).id, id, input));
  }

  deleteItem(kind: ItemKind, userId: string, id: string): SimItemView {
    return this.itemView(this.items.delete(kind, this.user(userId).id, id));
  }

  /** Files a message into another folder (id or well-known name): Graph's `move`. */
  moveMessage(userId: string, id: string, folder: string): SimItemView {
    return this.itemView(this.items.move(this.user(userId).id, id, folder));
  }

  listItems(kind: ItemKind, userId: string): SimItemView[] {
    return this.items.forUser(kind, this.user(userId).id).map((i) => this.itemView(i));
  }

  /** A mailbox's mail folders: id, well-known name, display name. */
  mailFolders(userId: string) {
    return this.items.folders(this.user(userId).id, 'messages');
  }

  /** A password reset: Graph removes the mailbox's subscriptions and says so with `subscriptionRemoved`. */
  resetPassword(userId: string): Subscription[] {
    const user = this.user(userId);
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
    if (event === 'reauthorizationRequired') sub.reauthorizationNoticeSentMs = this.clock.now();
    this.sendLifecycle(sub, event);
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
      const user = this.user(userId);
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
    this.delta.invalidate(this.user(userId).id);
    this.mail.invalidate(this.user(userId).id);
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
    return this.dispatcher
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
      if (!pending.length && !this.dispatcher.busy) return;
      if (performance.now() > deadline) {
        throw new Error(
          `graph-sim: ${pending.length} notification(s) still pending after ${timeoutMs} ms; dispatcher ${JSON.stringify(this.dispatcher.state())}; clock ${this.clock.nowIso()}, next timer at ${new Date(this.clock.nextDueAt() ?? 0).toISOString()}; first pending: ${JSON.stringify(pending[0])}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // ---- internals ----

  private async route(req: SimRequest): Promise<SimResponse> {
    if (/^\/_sim(\/|$)/.test(req.path)) return handleControl(this.control, req);
    if (/^\/v1\.0(\/|$)/i.test(req.path)) return this.graph.handle(req);
    const started = performance.now();
    const response = await handleLogin(this.login, req, this.clock);
    this.records.requests.push({
      requestId: req.requestId,
      at: this.clock.nowIso(),
      method: req.method,
      path: req.path,
      query: req.query.toString(),
      status: response.status,
      ...(response.status >= 400 ? { errorCode: String((response.body as { error?: unknown }).error) } : {}),
      durationMs: Math.round(performance.now() - started),
    });
    return response;
  }

  private user(idOrUpn: string): SimUser {
    const user = this.directory.findUser(idOrUpn);
    if (!user) throw new SimUsageError(`no user ${idOrUpn}`, 404);
    return user;
  }

  private view(event: StoredEvent): SimEventView {
    const user = this.user(event.userId);
    return {
      id: event.restId,
      immutableId: event.immutableId,
      userId: user.id,
      tenantId: user.tenantId,
      calendarId: event.calendarId,
      changeKey: event.changeKey,
      event: renderEvent(event, user, true, this.urls.graph),
    };
  }

  private itemView(item: StoredItem): SimItemView {
    const user = this.user(item.userId);
    return {
      id: item.restId,
      immutableId: item.immutableId,
      userId: user.id,
      tenantId: user.tenantId,
      folderId: item.folderId,
      changeKey: item.changeKey,
      item: renderItem(item, user, true, this.urls.graph),
    };
  }

  /**
   * Who hears of a message or contact change: mailbox-wide subscriptions of its kind as for events (a move is
   * an `updated` with immutable ids, a `deleted` + `created` of the REST ids without), and folder subscriptions
   * of the folder it is in — a message moved out of one folder is `deleted` there and `created` in the other.
   */
  private notifyItemChange(change: ItemChange): void {
    const { item } = change;
    const collection = item.kind === 'messages' ? 'Messages' : 'Contacts';
    const odataType = item.kind === 'messages' ? '#Microsoft.Graph.Message' : '#Microsoft.Graph.Contact';
    for (const sub of this.subscriptions.forMailbox(item.userId)) {
      if (sub.kind !== item.kind) continue;
      const id = sub.immutableIds ? item.immutableId : item.restId;
      let sends: Array<[ChangeType, string]>;
      if (sub.folderId === undefined)
        sends =
          change.moved && !sub.immutableIds
            ? [
                ['deleted', change.previousRestId!],
                ['created', item.restId],
              ]
            : [[change.type, id]];
      else if (change.moved)
        sends = [
          ...(change.previousFolderId === sub.folderId
            ? [['deleted', sub.immutableIds ? item.immutableId : change.previousRestId!] as [ChangeType, string]]
            : []),
          ...(item.folderId === sub.folderId ? [['created', id] as [ChangeType, string]] : []),
        ];
      else sends = item.folderId === sub.folderId ? [[change.type, id]] : [];
      for (const [changeType, itemId] of sends) {
        if (!sub.changeTypes.includes(changeType)) continue;
        this.sendChange(
          sub,
          changeType,
          `Users/${sub.userId}/${collection}/${itemId}`,
          odataType,
          itemId,
          item.changeKey,
          () => renderItem(item, this.user(item.userId), sub.immutableIds, this.urls.graph),
        );
      }
    }
  }

  /** Tenant-wide `/users` or `/groups` subscriptions of the object's tenant hear of it. */
  private notifyDirectoryChange(change: DirectoryChange): void {
    const collection = change.kind === 'users' ? 'Users' : 'Groups';
    const odataType = change.kind === 'users' ? '#Microsoft.Graph.User' : '#Microsoft.Graph.Group';
    for (const sub of this.subscriptions.all()) {
      if (sub.kind !== change.kind || sub.tenantId !== change.tenantId || !sub.changeTypes.includes(change.type))
        continue;
      this.sendChange(
        sub,
        change.type,
        `${collection}/${change.id}`,
        odataType,
        change.id,
        String(this.calendar.currentSeq),
      );
    }
  }

  private sendChange(
    sub: Subscription,
    changeType: ChangeType,
    resource: string,
    odataType: string,
    itemId: string,
    etag: string,
    /** The item as Graph's JSON shows it now: what a rich notification carries (its `$select`), encrypted. */
    render?: () => Record<string, unknown>,
    /** A second or later notification of one event edit: its first one's id, and how long it waits to join a POST. */
    extra?: { sameEditAs: string; holdMs: number },
  ): string {
    const id = guid();
    const resourceData = { '@odata.type': odataType, '@odata.id': resource, '@odata.etag': `W/"${etag}"`, id: itemId };
    // A deleted item has no data left to send; Graph's rich notification of a delete carries none.
    const rich = sub.includeResourceData && render && changeType !== 'deleted' && sub.encryptionCertificate;
    const payload: ChangeNotification = {
      id,
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: new Date(sub.expirationMs).toISOString(),
      changeType,
      resource,
      resourceData,
      ...(rich
        ? {
            encryptedContent: {
              ...encryptResource(
                { '@odata.type': odataType, '@odata.id': resource, ...project(render(), sub.richSelect) },
                sub.encryptionCertificate!,
                sub.encryptionCertificateId!,
              ),
            },
          }
        : {}),
      clientState: sub.clientState ?? null,
      tenantId: sub.tenantId,
    };
    this.dispatcher.enqueue(
      sub,
      'change',
      sub.notificationUrl,
      payload,
      {
        id,
        kind: 'change',
        subscriptionId: sub.id,
        url: sub.notificationUrl,
        changeType,
        resource,
        eventId: itemId,
        userId: sub.userId,
        tenantId: sub.tenantId,
        createdAt: this.clock.nowIso(),
        state: 'pending',
        attempts: 0,
        ...(extra ? { sameEditAs: extra.sameEditAs } : {}),
      },
      extra?.holdMs,
    );
    return id;
  }

  private notifyChange(change: CalendarChange): void {
    const { event } = change;
    // Graph sends 2–3 `updated` for one calendar edit; the fault `calendarEditNotifications` says how many. One
    // draw per edit, so every subscriber of the mailbox hears the same number. A move is no edit: one.
    const copies = change.type === 'updated' && !change.moved ? this.faults.calendarEditNotifications() : 1;
    // A booking of a room or equipment mailbox: the resource's calendar attendant processes the new event, and
    // its subscribers hear "created, updated, updated, updated" for one booking (Microsoft's advice: deduplicate
    // on id and changeKey). All four carry the booking's changeKey.
    const owner = this.user(event.userId);
    const booking = change.type === 'created' && (owner.userPurpose === 'room' || owner.userPurpose === 'equipment');
    const defaultCalendar = this.calendar.calendars.defaultOf(event.userId).id;
    for (const sub of this.subscriptions.forMailbox(event.userId)) {
      if (sub.kind !== 'events') continue;
      // `/users/{id}/events` hears the default calendar only (as users of real Graph report); a calendar's own
      // subscription hears that calendar. A move is `deleted` where the event left and `created` where it went.
      const watched = sub.folderId ?? defaultCalendar;
      const id = sub.immutableIds ? event.immutableId : event.restId;
      const sends: Array<[ChangeType, string]> = change.moved
        ? [
            ...(change.previousCalendarId === watched
              ? [['deleted', sub.immutableIds ? event.immutableId : change.previousRestId!] as [ChangeType, string]]
              : []),
            ...(event.calendarId === watched ? [['created', id] as [ChangeType, string]] : []),
          ]
        : event.calendarId === watched
          ? [
              [change.type, id],
              ...(booking ? Array.from({ length: 3 }, (): [ChangeType, string] => ['updated', id]) : []),
            ]
          : [];
      for (const [changeType, eventId] of sends) {
        if (!sub.changeTypes.includes(changeType)) continue;
        let first: string | undefined;
        for (let i = 0; i < (changeType === 'updated' && !booking ? copies : 1); i++) {
          const id = this.sendChange(
            sub,
            changeType,
            `Users/${sub.userId}/Events/${eventId}`,
            '#Microsoft.Graph.Event',
            eventId,
            event.changeKey,
            () => renderEvent(event, this.user(event.userId), sub.immutableIds, this.urls.graph, true),
            // Each extra joins the first one's POST or, a batch window later, the next one.
            first === undefined
              ? undefined
              : {
                  sameEditAs: first,
                  holdMs: this.faults.editExtraInNextPost() ? this.options.delivery.batchWindowMs : 0,
                },
          );
          first ??= id;
        }
      }
    }
  }

  private sendLifecycle(sub: Subscription, lifecycleEvent: LifecycleEvent): void {
    const record: NotificationRecord = {
      id: guid(),
      kind: 'lifecycle',
      subscriptionId: sub.id,
      url: sub.lifecycleNotificationUrl ?? '',
      lifecycleEvent,
      userId: sub.userId,
      tenantId: sub.tenantId,
      createdAt: this.clock.nowIso(),
      state: 'pending',
      attempts: 0,
    };
    if (!sub.lifecycleNotificationUrl) {
      // Without a lifecycle URL Graph has nowhere to say it; the record shows what was lost.
      this.records.addNotification({ ...record, state: 'dropped', droppedReason: 'noLifecycleNotificationUrl' });
      return;
    }
    const payload: ChangeNotification = {
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: new Date(sub.expirationMs).toISOString(),
      tenantId: sub.tenantId,
      clientState: sub.clientState ?? null,
      lifecycleEvent,
    };
    this.dispatcher.enqueue(sub, 'lifecycle', sub.lifecycleNotificationUrl, payload, record);
  }

  private notifyMissed(sub: Subscription): void {
    // Graph sends `missed` for Outlook resources only; directory subscriptions hear nothing.
    if (sub.kind === 'users' || sub.kind === 'groups') return;
    const last = this.lastMissed.get(sub.id);
    if (last !== undefined && this.clock.now() - last < MISSED_DEBOUNCE_MS) return;
    this.lastMissed.set(sub.id, this.clock.now());
    this.sendLifecycle(sub, 'missed');
  }
}
