import { checkCertificate } from './rich/encrypt.ts';
import { EVENT_PROPERTIES } from './calendar.ts';
import { ITEM_PROPERTIES } from './mail.ts';
import type { SimClock } from './clock.ts';
import type { Directory } from './directory.ts';
import { badRequest, GraphError } from './errors.ts';
import { validateEndpoint, type HandshakeResult } from './handshake.ts';
import { guid } from './ids.ts';
import type { SubscriptionOptions, ThrottleOptions } from './options.ts';
import type { Records } from './records.ts';
import { SlidingWindowLimiter } from './throttle.ts';
import {
  TEAMS_KINDS,
  type ChangeType,
  type LifecycleEvent,
  type Principal,
  type Subscription,
  type SubscriptionKind,
} from './types.ts';

const CHANGE_TYPES = new Set<ChangeType>(['created', 'updated', 'deleted']);
const TLS_VERSIONS = new Set(['v1_0', 'v1_1', 'v1_2', 'v1_3']);
const CREATE_FIELDS = new Set([
  'changeType',
  'notificationUrl',
  'lifecycleNotificationUrl',
  'resource',
  'expirationDateTime',
  'clientState',
  'latestSupportedTlsVersion',
  'includeResourceData',
  'encryptionCertificate',
  'encryptionCertificateId',
  'notificationQueryOptions',
  'notificationUrlAppId',
  '@odata.type',
]);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const REAUTH_PATCH_WINDOW_MS = 10 * 60_000;
/** Teams resources live at most 4,320 minutes, with or without resource data. */
const TEAMS_MAX_MINUTES = 4_320;
/** Beyond this a Teams subscription needs a lifecycleNotificationUrl. */
const TEAMS_NO_LIFECYCLE_MAX_MS = 60 * 60_000;
const LIFECYCLE_URL_REQUIRED =
  'lifecycleNotificationUrl is a required property for subscription creation on this resource when the expirationDateTime value is set to greater than 1 hour.';

/** The Teams containers a subscription may name, looked up in the caller's tenant. */
export interface TeamsLookup {
  team: (tenantId: string, teamId: string) => unknown;
  channel: (tenantId: string, teamId: string, channelId: string) => unknown;
  chat: (tenantId: string, chatId: string) => unknown;
}

export interface SubscriptionDeps {
  clock: SimClock;
  directory: Directory;
  records: Records;
  options: SubscriptionOptions;
  throttling: ThrottleOptions;
  /** Real-time seconds a client should wait for `simMs` of simulated time. */
  retryAfterSeconds: (simMs: number) => number;
  sendLifecycle: (sub: Subscription, event: LifecycleEvent) => void;
  onHandshake: (result: HandshakeResult) => void;
  /** A mailbox's mail folder id for an id or well-known name (`inbox`), if it has one. */
  mailFolder: (userId: string, ref: string) => string | undefined;
  /** A mailbox's calendar id for an id, if it has one. */
  calendar: (userId: string, ref: string) => string | undefined;
  teams: TeamsLookup;
}

interface ParsedResource {
  resource: string;
  userId: string;
  kind: SubscriptionKind;
  folderId: string | undefined;
  teamId?: string;
  channelId?: string;
  chatId?: string;
}

/** Graph's `/subscriptions` for Outlook events, messages and contacts: its rules, quotas, throttles, expiry and lifecycle timers. */
export class SubscriptionService {
  private readonly subs = new Map<string, Subscription>();
  private readonly timers = new Map<string, Array<() => void>>();
  private readonly writes: SlidingWindowLimiter;
  private readonly reauths: SlidingWindowLimiter;
  private readonly lists: SlidingWindowLimiter;
  private readonly gets: SlidingWindowLimiter;
  /** Graph's second quota per request type: per app across all its tenants. */
  private readonly appWrites: SlidingWindowLimiter;
  private readonly appReauths: SlidingWindowLimiter;
  private readonly appLists: SlidingWindowLimiter;
  private readonly appGets: SlidingWindowLimiter;
  /** Each app-and-tenant's subscriptions in creation order, rebuilt after a create or drop (lists page through it). */
  private listed = new Map<string, Subscription[]>();

  private readonly deps: SubscriptionDeps;

  constructor(deps: SubscriptionDeps) {
    this.deps = deps;
    const t = deps.throttling;
    this.writes = new SlidingWindowLimiter(deps.clock, 20_000, t.subscriptionWritesPer20s);
    this.reauths = new SlidingWindowLimiter(deps.clock, 20_000, t.subscriptionReauthorizePer20s);
    this.lists = new SlidingWindowLimiter(deps.clock, 20_000, t.subscriptionListPer20s);
    this.gets = new SlidingWindowLimiter(deps.clock, 20_000, t.subscriptionGetPer20s);
    this.appWrites = new SlidingWindowLimiter(deps.clock, 20_000, t.subscriptionWritesPer20sPerApp);
    this.appReauths = new SlidingWindowLimiter(deps.clock, 20_000, t.subscriptionReauthorizePer20sPerApp);
    this.appLists = new SlidingWindowLimiter(deps.clock, 20_000, t.subscriptionListPer20sPerApp);
    this.appGets = new SlidingWindowLimiter(deps.clock, 20_000, t.subscriptionGetPer20sPerApp);
  }

  all(): Subscription[] {
    return [...this.subs.values()];
  }

  byId(id: string): Subscription | undefined {
    return this.subs.get(id);
  }

  forMailbox(userId: string): Subscription[] {
    return this.all().filter((s) => s.userId === userId);
  }

  isAuthorized(sub: Subscription): boolean {
    return (
      this.deps.clock.now() <= sub.authorizedUntilMs && this.deps.directory.isConsented(sub.applicationId, sub.tenantId)
    );
  }

  async create(principal: Principal, body: Record<string, unknown>, immutableIds: boolean): Promise<Subscription> {
    this.take(this.writes, principal, 'subscriptionservice.dc.write');
    const unknown = Object.keys(body).filter((k) => !CREATE_FIELDS.has(k));
    if (unknown.length)
      throw badRequest(
        `The property '${unknown[0]}' does not exist on type 'microsoft.graph.subscription'.`,
        'InvalidRequest',
      );
    const changeTypes = this.parseChangeTypes(body.changeType);
    const notificationUrl = this.parseUrl(body.notificationUrl, 'notificationUrl', true)!;
    const lifecycleNotificationUrl = this.parseUrl(body.lifecycleNotificationUrl, 'lifecycleNotificationUrl', false);
    const parsed = this.parseResource(body.resource, principal);
    const { resource, userId } = parsed;
    const directory = parsed.kind === 'users' || parsed.kind === 'groups';
    const tenantWide = directory || TEAMS_KINDS.has(parsed.kind);
    // Directory resources report creation as `updated`; Graph refuses `created` for them.
    if (directory && changeTypes.includes('created'))
      throw badRequest(
        `changeType 'created' is not supported for '${resource}'; use updated,deleted.`,
        'InvalidRequest',
      );
    if (parsed.kind === 'chats' && changeTypes.includes('deleted'))
      throw badRequest(
        `changeType 'deleted' is not supported for '${resource}'; a /chats subscription takes created,updated.`,
        'InvalidRequest',
      );
    const includeResourceData = body.includeResourceData === true;
    const expirationMs = this.parseExpiration(body.expirationDateTime, includeResourceData, parsed.kind);
    if (TEAMS_KINDS.has(parsed.kind) && !lifecycleNotificationUrl) this.requireLifecycleUrl(body.expirationDateTime);
    const clientState = this.parseClientState(body.clientState);
    const tls = body.latestSupportedTlsVersion ?? 'v1_2';
    if (typeof tls !== 'string' || !TLS_VERSIONS.has(tls)) {
      throw badRequest(
        `Invalid latestSupportedTlsVersion '${JSON.stringify(tls)}'; use one of ${[...TLS_VERSIONS].join(', ')}.`,
        'InvalidRequest',
      );
    }
    const rich = includeResourceData ? this.parseRich(body, parsed) : undefined;
    this.checkDuplicate(principal, parsed, changeTypes);
    const onMailbox = tenantWide ? 0 : this.forMailbox(userId).length;
    if (onMailbox >= this.deps.options.quotaPerMailbox) {
      throw new GraphError(
        403,
        'ExtensionError',
        `Operation: Create; Exception: [Status Code: Forbidden; Reason: The number of subscriptions for this mailbox has reached the limit of ${this.deps.options.quotaPerMailbox}.]`,
      );
    }
    await validateEndpoint(notificationUrl, this.deps.options.handshakeTimeoutMs, this.deps.onHandshake);
    if (lifecycleNotificationUrl)
      await validateEndpoint(lifecycleNotificationUrl, this.deps.options.handshakeTimeoutMs, this.deps.onHandshake);
    // The handshake took time; a parallel create of the same combination may have won meanwhile.
    this.checkDuplicate(principal, parsed, changeTypes);
    const app = this.deps.directory.app(principal.appId);
    return this.add({
      resource,
      kind: parsed.kind,
      ...(parsed.folderId ? { folderId: parsed.folderId } : {}),
      ...(parsed.teamId ? { teamId: parsed.teamId } : {}),
      ...(parsed.channelId ? { channelId: parsed.channelId } : {}),
      ...(parsed.chatId ? { chatId: parsed.chatId } : {}),
      changeTypes,
      notificationUrl,
      lifecycleNotificationUrl,
      expirationMs,
      clientState,
      applicationId: principal.appId,
      creatorId: app.servicePrincipalIds.get(principal.tenantId) ?? guid(),
      tenantId: principal.tenantId,
      userId,
      immutableIds,
      includeResourceData,
      ...(rich ?? {}),
      latestSupportedTlsVersion: tls,
    });
  }

  /**
   * What a rich subscription needs, checked as Graph does: an Outlook resource with a `$select` of the kind's
   * properties (no Body/UniqueBody, no $top/$skip/$orderby/$expand), and a valid encryption certificate with its id.
   */
  private parseRich(
    body: Record<string, unknown>,
    parsed: ParsedResource,
  ): { richSelect?: string[]; encryptionCertificate: string; encryptionCertificateId: string } {
    if (parsed.kind === 'users' || parsed.kind === 'groups')
      throw badRequest(`includeResourceData is not supported for '${parsed.resource}'.`, 'NotSupported');
    if (body.encryptionCertificate === undefined || body.encryptionCertificateId === undefined)
      throw badRequest(
        'encryptionCertificate and encryptionCertificateId are required when includeResourceData is true.',
        'InvalidRequest',
      );
    checkCertificate(body.encryptionCertificate, body.encryptionCertificateId);
    // Teams notifications carry the whole item, as a GET returns it: no $select.
    if (TEAMS_KINDS.has(parsed.kind))
      return {
        encryptionCertificate: body.encryptionCertificate as string,
        encryptionCertificateId: body.encryptionCertificateId as string,
      };
    const query = new URLSearchParams(parsed.resource.split('?')[1] ?? '');
    for (const name of ['$top', '$skip', '$orderby', '$expand', '$filter'])
      if (query.has(name))
        throw badRequest(
          `${name} is not supported in the resource of a subscription with resource data.`,
          'InvalidRequest',
        );
    const select = (query.get('$select') ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (!select.length)
      throw badRequest(
        `A subscription with resource data on '${parsed.resource}' needs a $select in its resource, e.g. ?$select=subject,start.`,
        'InvalidRequest',
      );
    const known = parsed.kind === 'events' ? EVENT_PROPERTIES : ITEM_PROPERTIES[parsed.kind as 'messages'];
    for (const p of select) {
      if (/^(body|uniqueBody)$/i.test(p))
        throw badRequest(`$select=${p} is not supported for a subscription with resource data.`, 'InvalidRequest');
      if (!known.has(p))
        throw badRequest(
          `Could not find a property named '${p}' on type 'microsoft.graph.${parsed.kind.replace(/s$/, '')}'.`,
          'InvalidRequest',
        );
    }
    return {
      richSelect: select,
      encryptionCertificate: body.encryptionCertificate as string,
      encryptionCertificateId: body.encryptionCertificateId as string,
    };
  }

  async update(principal: Principal, id: string, body: Record<string, unknown>): Promise<Subscription> {
    this.take(this.writes, principal, 'subscriptionservice.dc.write');
    const sub = this.own(principal, id);
    if ('lifecycleNotificationUrl' in body) {
      throw badRequest(
        'lifecycleNotificationUrl cannot be added or changed on an existing subscription; delete it and create a new one.',
        'InvalidRequest',
      );
    }
    // A rich subscription's certificate is renewed like its expiry (a rotation).
    const updatable = new Set(['expirationDateTime', 'notificationUrl', '@odata.type']);
    if (sub.includeResourceData) for (const k of ['encryptionCertificate', 'encryptionCertificateId']) updatable.add(k);
    const other = Object.keys(body).filter((k) => !updatable.has(k));
    if (other.length)
      throw badRequest(
        `Only expirationDateTime and notificationUrl${sub.includeResourceData ? ', encryptionCertificate and encryptionCertificateId' : ''} can be updated; '${other[0]}' cannot.`,
        'InvalidRequest',
      );
    const rotating = body.encryptionCertificate !== undefined || body.encryptionCertificateId !== undefined;
    if (rotating) checkCertificate(body.encryptionCertificate, body.encryptionCertificateId);
    if (
      body.expirationDateTime === undefined &&
      body.notificationUrl === undefined &&
      !('encryptionCertificate' in body)
    ) {
      throw badRequest('The request must contain expirationDateTime or notificationUrl.', 'InvalidRequest');
    }
    const expirationMs =
      body.expirationDateTime !== undefined
        ? this.parseExpiration(body.expirationDateTime, sub.includeResourceData, sub.kind)
        : sub.expirationMs;
    // A Teams subscription made without a lifecycle URL cannot be renewed beyond an hour (nor can the URL be added).
    if (TEAMS_KINDS.has(sub.kind) && !sub.lifecycleNotificationUrl && body.expirationDateTime !== undefined)
      this.requireLifecycleUrl(body.expirationDateTime, sub.id);
    const notificationUrl =
      body.notificationUrl !== undefined
        ? this.parseUrl(body.notificationUrl, 'notificationUrl', true)!
        : sub.notificationUrl;
    if (notificationUrl !== sub.notificationUrl)
      await validateEndpoint(notificationUrl, this.deps.options.handshakeTimeoutMs, this.deps.onHandshake);
    if (!this.subs.has(sub.id)) throw this.missing(id);
    const now = this.deps.clock.now();
    if (sub.lastReauthorizeMs !== undefined && now - sub.lastReauthorizeMs < REAUTH_PATCH_WINDOW_MS) {
      this.warn(
        sub,
        'ReauthorizeAndPatchWithin10Minutes',
        'PATCH followed a reauthorize of the same subscription within 10 minutes; Graph warns this can leave the subscription inconsistent.',
      );
    }
    sub.expirationMs = expirationMs;
    sub.notificationUrl = notificationUrl;
    if (rotating) {
      sub.encryptionCertificate = body.encryptionCertificate as string;
      sub.encryptionCertificateId = body.encryptionCertificateId as string;
    }
    sub.lastPatchMs = now;
    this.refreshAuthorization(sub, now);
    return sub;
  }

  reauthorize(principal: Principal, id: string): void {
    this.take(this.reauths, principal, 'subscriptionservice.dc.reauthorize');
    const sub = this.own(principal, id);
    const now = this.deps.clock.now();
    if (sub.lastPatchMs !== undefined && now - sub.lastPatchMs < REAUTH_PATCH_WINDOW_MS) {
      this.warn(
        sub,
        'ReauthorizeAndPatchWithin10Minutes',
        'reauthorize followed a PATCH of the same subscription within 10 minutes; Graph warns this can leave the subscription inconsistent.',
      );
    }
    sub.lastReauthorizeMs = now;
    this.refreshAuthorization(sub, now);
  }

  delete(principal: Principal, id: string): void {
    this.take(this.writes, principal, 'subscriptionservice.dc.write');
    this.own(principal, id);
    this.drop(id);
  }

  get(principal: Principal, id: string): Subscription {
    this.take(this.gets, principal, 'subscriptionservice.dc.get');
    return this.own(principal, id);
  }

  /** This app's subscriptions in this tenant, in creation order, one page from `offset`. */
  list(principal: Principal, offset: number): { page: Subscription[]; nextOffset: number | undefined } {
    this.take(this.lists, principal, 'subscriptionservice.dc.list');
    const key = `${principal.appId}|${principal.tenantId}`;
    let mine = this.listed.get(key);
    if (!mine) {
      mine = this.all()
        .filter((s) => s.applicationId === principal.appId && s.tenantId === principal.tenantId)
        .sort((a, b) => a.createdMs - b.createdMs);
      this.listed.set(key, mine);
    }
    const page = mine.slice(offset, offset + this.deps.options.listPageSize);
    return { page, nextOffset: offset + page.length < mine.length ? offset + page.length : undefined };
  }

  /** Graph-initiated removal (password reset, revoked access, on demand): `subscriptionRemoved` follows. */
  removeWithNotice(id: string): Subscription {
    const sub = this.subs.get(id);
    if (!sub) throw new GraphError(404, 'ResourceNotFound', `Subscription '${id}' does not exist.`);
    this.drop(id);
    this.deps.sendLifecycle(sub, 'subscriptionRemoved');
    return sub;
  }

  /** Load tests: adds a subscription as if created, without handshake, rules or throttles. */
  seed(input: {
    appId: string;
    tenantId: string;
    userId: string;
    notificationUrl: string;
    lifecycleNotificationUrl?: string;
    clientState: string;
    expirationMs: number;
    kind?: 'events' | 'messages' | 'contacts';
  }): Subscription {
    const kind = input.kind ?? 'events';
    return this.add({
      resource: `/users/${input.userId}/${kind}`,
      kind,
      changeTypes: ['created', 'updated', 'deleted'],
      notificationUrl: input.notificationUrl,
      lifecycleNotificationUrl: input.lifecycleNotificationUrl,
      expirationMs: input.expirationMs,
      clientState: input.clientState,
      applicationId: input.appId,
      creatorId: guid(),
      tenantId: input.tenantId,
      userId: input.userId,
      immutableIds: true,
      includeResourceData: false,
      latestSupportedTlsVersion: 'v1_2',
    });
  }

  /** A new subscription, authorized from now on, with its expiry and reauthorization timers. */
  private add(
    fields: Omit<
      Subscription,
      'id' | 'authorizedUntilMs' | 'createdMs' | 'lastPatchMs' | 'lastReauthorizeMs' | 'reauthorizationNoticeSentMs'
    >,
  ): Subscription {
    const now = this.deps.clock.now();
    const sub: Subscription = {
      ...fields,
      id: guid(),
      authorizedUntilMs: now + this.deps.options.authorizationMinutes * 60_000,
      createdMs: now,
      lastPatchMs: undefined,
      lastReauthorizeMs: undefined,
      reauthorizationNoticeSentMs: undefined,
    };
    this.subs.set(sub.id, sub);
    this.listed.delete(`${sub.applicationId}|${sub.tenantId}`);
    this.schedule(sub);
    return sub;
  }

  removeSilently(id: string): void {
    this.drop(id);
  }

  /** Access was revoked: deliveries pause and every affected subscription hears `reauthorizationRequired`. */
  suspend(appId: string, tenantId: string): Subscription[] {
    const affected = this.all().filter((s) => s.applicationId === appId && s.tenantId === tenantId);
    for (const sub of affected) {
      sub.authorizedUntilMs = Math.min(sub.authorizedUntilMs, this.deps.clock.now());
      sub.reauthorizationNoticeSentMs = this.deps.clock.now();
      this.deps.sendLifecycle(sub, 'reauthorizationRequired');
    }
    return affected;
  }

  render(sub: Subscription, withClientState: boolean, graphBase: string): Record<string, unknown> {
    return {
      '@odata.context': `${graphBase}/$metadata#subscriptions/$entity`,
      id: sub.id,
      resource: sub.resource,
      applicationId: sub.applicationId,
      changeType: sub.changeTypes.join(','),
      clientState: withClientState ? (sub.clientState ?? null) : null,
      notificationUrl: sub.notificationUrl,
      notificationQueryOptions: null,
      lifecycleNotificationUrl: sub.lifecycleNotificationUrl ?? null,
      expirationDateTime: new Date(sub.expirationMs).toISOString(),
      creatorId: sub.creatorId,
      includeResourceData: sub.includeResourceData,
      latestSupportedTlsVersion: sub.latestSupportedTlsVersion,
      encryptionCertificate: sub.encryptionCertificate ?? null,
      encryptionCertificateId: sub.encryptionCertificateId ?? null,
      notificationUrlAppId: null,
    };
  }

  dispose(): void {
    for (const cancels of this.timers.values()) for (const cancel of cancels) cancel();
    this.timers.clear();
  }

  private refreshAuthorization(sub: Subscription, now: number): void {
    sub.authorizedUntilMs = now + this.deps.options.authorizationMinutes * 60_000;
    sub.reauthorizationNoticeSentMs = undefined;
    this.schedule(sub);
  }

  private schedule(sub: Subscription): void {
    for (const cancel of this.timers.get(sub.id) ?? []) cancel();
    const { clock, options } = this.deps;
    const expire = clock.at(sub.expirationMs, () => {
      this.drop(sub.id);
      this.warn(
        sub,
        'SubscriptionExpired',
        `subscription ${sub.id} expired at ${new Date(sub.expirationMs).toISOString()} and was deleted.`,
      );
    });
    const noticeAt = Math.min(sub.authorizedUntilMs, sub.expirationMs) - options.reauthorizationLeadMinutes * 60_000;
    const notice = clock.at(noticeAt, () => {
      if (!this.subs.has(sub.id) || sub.reauthorizationNoticeSentMs !== undefined) return;
      sub.reauthorizationNoticeSentMs = clock.now();
      this.deps.sendLifecycle(sub, 'reauthorizationRequired');
    });
    this.timers.set(sub.id, [expire, notice]);
  }

  private drop(id: string): void {
    for (const cancel of this.timers.get(id) ?? []) cancel();
    this.timers.delete(id);
    const sub = this.subs.get(id);
    if (sub) this.listed.delete(`${sub.applicationId}|${sub.tenantId}`);
    this.subs.delete(id);
  }

  private own(principal: Principal, id: string): Subscription {
    const sub = this.subs.get(id);
    if (!sub || sub.applicationId !== principal.appId || sub.tenantId !== principal.tenantId) throw this.missing(id);
    return sub;
  }

  private missing(id: string): GraphError {
    return new GraphError(
      404,
      'ResourceNotFound',
      `The object was not found. Subscription '${id}' does not exist or was removed.`,
    );
  }

  private take(limiter: SlidingWindowLimiter, principal: Principal, category: string): void {
    const perApp =
      limiter === this.writes
        ? this.appWrites
        : limiter === this.reauths
          ? this.appReauths
          : limiter === this.lists
            ? this.appLists
            : this.appGets;
    // The app-wide window is looked at first, so a refusal there does not use up the tenant's window.
    const slot = perApp.tryTake(principal.appId);
    if (slot.ok) {
      const tenantSlot = limiter.tryTake(`${principal.appId}|${principal.tenantId}`);
      if (!tenantSlot.ok) {
        perApp.untake(principal.appId);
        this.refuse(category, tenantSlot.retryAfterMs);
      }
      return;
    }
    this.refuse(category, slot.retryAfterMs);
  }

  private refuse(category: string, retryAfterMs: number): never {
    throw new GraphError(429, 'TooManyRequests', `Too many requests; category:throttle.aad.ags.${category}`, {
      'Retry-After': String(this.deps.retryAfterSeconds(retryAfterMs)),
    });
  }

  private warn(sub: Subscription, code: string, message: string): void {
    this.deps.records.warnings.push({ at: this.deps.clock.nowIso(), code, message, subscriptionId: sub.id });
  }

  /** Graph refuses a second subscription of one app with the same resource and change types. */
  private checkDuplicate(principal: Principal, r: ParsedResource, changeTypes: ChangeType[]): void {
    const key = [...changeTypes].sort().join(',');
    const existing = this.all().find(
      (s) =>
        s.applicationId === principal.appId &&
        s.userId === r.userId &&
        s.kind === r.kind &&
        s.folderId === r.folderId &&
        s.teamId === r.teamId &&
        s.channelId === r.channelId &&
        s.chatId === r.chatId &&
        [...s.changeTypes].sort().join(',') === key,
    );
    if (existing) {
      throw new GraphError(
        409,
        'Conflict',
        `Subscription Id ${existing.id} already exists for the requested combination`,
      );
    }
  }

  private parseChangeTypes(value: unknown): ChangeType[] {
    const parts = typeof value === 'string' ? value.split(',').map((p) => p.trim()) : [];
    if (
      !parts.length ||
      parts.some((p) => !CHANGE_TYPES.has(p as ChangeType)) ||
      new Set(parts).size !== parts.length
    ) {
      throw badRequest(
        `Invalid 'changeType' attribute: '${String(value)}'. Use a comma-separated list of created, updated, deleted.`,
        'InvalidRequest',
      );
    }
    return parts as ChangeType[];
  }

  private parseUrl(value: unknown, field: string, required: boolean): string | undefined {
    if (value === undefined || value === null) {
      if (required) throw badRequest(`${field} is required.`, 'InvalidRequest');
      return undefined;
    }
    if (typeof value !== 'string') throw badRequest(`${field} must be a string URL.`, 'InvalidRequest');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw badRequest(`Invalid ${field}: '${value}' is not an absolute URL.`, 'InvalidRequest');
    }
    const allowHttp = this.deps.options.allowHttpNotificationUrl;
    const httpOk = allowHttp === 'always' || (allowHttp === 'loopback' && LOOPBACK.has(url.hostname));
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && httpOk)) {
      throw badRequest(`Invalid ${field}: '${value}'. The notification URL must use https.`, 'InvalidRequest');
    }
    return value;
  }

  private parseResource(value: unknown, principal: Principal): ParsedResource {
    if (typeof value !== 'string' || !value.trim()) throw badRequest('resource is required.', 'InvalidRequest');
    const path = value.trim().replace(/^\/+/, '').split('?')[0]!;
    if (/^me\//i.test(path)) {
      throw badRequest('/me request is only valid with delegated authentication flow.', 'BadRequest');
    }
    const teams = this.parseTeamsResource(value, principal);
    if (teams) return teams;
    const directory = /^(users|groups)$/i.exec(path);
    if (directory)
      return {
        resource: value,
        userId: '',
        kind: directory[1]!.toLowerCase() as SubscriptionKind,
        folderId: undefined,
      };
    const match =
      /^users\/([^/]+)\/(events|messages|contacts)$/i.exec(path) ??
      /^users\/([^/]+)\/mailFolders(?:\/([^/]+)|\('([^/']+)'\))\/(messages)$/i.exec(path) ??
      /^users\/([^/]+)\/calendars(?:\/([^/]+)|\('([^/']+)'\))\/(events)$/i.exec(path);
    if (!match) {
      throw badRequest(
        `Resource '${value}' is not supported by graph-sim for change notifications; use users/{id}/events, users/{id}/calendars/{id}/events, users/{id}/messages, users/{id}/mailFolders/{id}/messages, users/{id}/contacts, users, groups, teams/getAllMessages, teams/{id}/channels/{id}/messages, chats/getAllMessages, chats/{id}/messages or chats.`,
        'InvalidRequest',
      );
    }
    const folderRef = match.length > 3 ? (match[2] ?? match[3]) : undefined;
    const kind = (match.length > 3 ? match[4]! : match[2]!).toLowerCase() as SubscriptionKind;
    let userRef: string;
    try {
      userRef = decodeURIComponent(match[1]!);
    } catch {
      throw badRequest(`Resource '${value}' is malformed.`, 'InvalidRequest');
    }
    const user = this.deps.directory.findUser(userRef, principal.tenantId);
    if (!user)
      throw new GraphError(
        404,
        'ResourceNotFound',
        `Resource '${value}' does not exist: no mailbox '${userRef}' in this tenant.`,
      );
    let folderId: string | undefined;
    if (folderRef !== undefined) {
      folderId = kind === 'events' ? this.deps.calendar(user.id, folderRef) : this.deps.mailFolder(user.id, folderRef);
      if (!folderId)
        throw new GraphError(
          404,
          'ResourceNotFound',
          `Resource '${value}' does not exist: no ${kind === 'events' ? 'calendar' : 'mail folder'} '${folderRef}'.`,
        );
    }
    return { resource: value, userId: user.id, kind, folderId };
  }

  /**
   * Directory resources (users, groups) live up to 41,760 minutes; Teams ones 4,320 (with or without resource
   * data); Outlook ones as configured (10,080).
   */
  private parseExpiration(value: unknown, withResourceData: boolean, kind: SubscriptionKind): number {
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms))
      throw badRequest('expirationDateTime is required and must be an ISO 8601 date-time.', 'InvalidRequest');
    const now = this.deps.clock.now();
    const { minExpirationMinutes, maxExpirationMinutes, maxExpirationMinutesWithResourceData } = this.deps.options;
    const max = TEAMS_KINDS.has(kind)
      ? TEAMS_MAX_MINUTES
      : withResourceData
        ? maxExpirationMinutesWithResourceData
        : kind === 'users' || kind === 'groups'
          ? Math.max(maxExpirationMinutes, 41_760)
          : maxExpirationMinutes;
    if (ms > now + max * 60_000)
      throw badRequest(`Subscription expiration can only be ${max} minutes in the future.`, 'InvalidRequest');
    return Math.max(ms, now + minExpirationMinutes * 60_000);
  }

  /**
   * Graph's rule for Teams resources: an expiration more than an hour away needs a lifecycleNotificationUrl.
   * Each refusal is kept as a warning (`LifecycleNotificationUrlRequired`) so a test can tell one was attempted.
   */
  private requireLifecycleUrl(expirationDateTime: unknown, subscriptionId?: string): void {
    const ms = Date.parse(String(expirationDateTime));
    if (ms <= this.deps.clock.now() + TEAMS_NO_LIFECYCLE_MAX_MS) return;
    this.deps.records.warnings.push({
      at: this.deps.clock.nowIso(),
      code: 'LifecycleNotificationUrlRequired',
      message: `refused: expirationDateTime ${new Date(ms).toISOString()} is more than 1 hour away and there is no lifecycleNotificationUrl.`,
      ...(subscriptionId ? { subscriptionId } : {}),
    });
    throw badRequest(LIFECYCLE_URL_REQUIRED, 'ValidationError');
  }

  /**
   * Teams resources: `/teams/getAllMessages`, `/chats/getAllMessages`, `/chats` (tenant-wide; `?model=A|B` is
   * taken and ignored), `/teams/{id}/channels/{id}/messages` and `/chats/{id}/messages` (a 404 for a team,
   * channel or chat the tenant does not have). Ids may be written `teams('{id}')` and percent-encoded.
   */
  private parseTeamsResource(value: string, principal: Principal): ParsedResource | undefined {
    const [rawPath, query = ''] = value.trim().replace(/^\/+/, '').split('?');
    const path = rawPath!.replace(/\('([^']*)'\)/g, '/$1');
    if (!/^(teams|chats)(\/|$)/i.test(path)) return undefined;
    const options = [...new URLSearchParams(query).keys()].filter((k) => k !== 'model');
    if (options.length)
      throw badRequest(
        `Query option '${options[0]}' is not supported by graph-sim on Teams resources.`,
        'InvalidRequest',
      );
    const base = { resource: value, userId: '', folderId: undefined };
    if (/^teams\/getAllMessages$/i.test(path)) return { ...base, kind: 'channelMessages' };
    if (/^chats\/getAllMessages$/i.test(path)) return { ...base, kind: 'chatMessages' };
    if (/^chats$/i.test(path)) return { ...base, kind: 'chats' };
    const missing = (what: string): GraphError =>
      new GraphError(404, 'ResourceNotFound', `Resource '${value}' does not exist: no ${what} in this tenant.`);
    const decode = (s: string): string => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw badRequest(`Resource '${value}' is malformed.`, 'InvalidRequest');
      }
    };
    const tenantId = principal.tenantId;
    const channel = /^teams\/([^/]+)\/channels\/([^/]+)\/messages$/i.exec(path);
    if (channel) {
      const [teamId, channelId] = [decode(channel[1]!), decode(channel[2]!)];
      if (!this.deps.teams.team(tenantId, teamId)) throw missing(`team '${teamId}'`);
      if (!this.deps.teams.channel(tenantId, teamId, channelId)) throw missing(`channel '${channelId}'`);
      return { ...base, kind: 'channelMessages', teamId, channelId };
    }
    const chat = /^chats\/([^/]+)\/messages$/i.exec(path);
    if (chat) {
      const chatId = decode(chat[1]!);
      if (!this.deps.teams.chat(tenantId, chatId)) throw missing(`chat '${chatId}'`);
      return { ...base, kind: 'chatMessages', chatId };
    }
    return undefined;
  }

  private parseClientState(value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw badRequest('clientState must be a string.', 'InvalidRequest');
    if (value.length > 128)
      throw badRequest(`clientState is ${value.length} characters long; the maximum is 128.`, 'InvalidRequest');
    return value;
  }
}
