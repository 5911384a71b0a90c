import { loginRouter } from './auth/login-routes.ts';
import type { TokenIssuer } from './auth/token-issuer.ts';
import { Calendar } from './calendar.ts';
import type { SimClock } from './clock.ts';
import { Dispatcher } from './delivery/dispatcher.ts';
import { EndpointHealth } from './delivery/endpoint-health.ts';
import { Notifier } from './delivery/notifier.ts';
import { Directory } from './directory.ts';
import { DirectoryObjects } from './directory-objects.ts';
import { SimUsageError } from './errors.ts';
import { Faults } from './faults.ts';
import { DeltaService } from './graph/delta.ts';
import { DirectoryRoutes } from './graph/directory-routes.ts';
import { GraphApi } from './graph/graph-api.ts';
import { MailRoutes } from './graph/mail-routes.ts';
import { TeamsRoutes } from './graph/teams-routes.ts';
import { guid } from './ids.ts';
import { OutlookItems } from './mail.ts';
import type { GraphSimOptions } from './options.ts';
import type { SeededRandom } from './random.ts';
import { Records } from './records.ts';
import { SubscriptionService } from './subscriptions.ts';
import { TeamsStore } from './teams.ts';
import type { SimUser } from './types.ts';
import type { GraphSimUrls } from './views.ts';

/** Where the server listens: known only once it has started, so the parts read it late. */
export interface SimSite {
  urls?: GraphSimUrls;
}

/** The simulator's parts, wired to each other; the server and the control API are built on them. */
export interface SimParts {
  options: GraphSimOptions;
  clock: SimClock;
  random: SeededRandom;
  issuer: TokenIssuer;
  caCertPem: string;
  site: SimSite;
  records: Records;
  directory: Directory;
  calendar: Calendar;
  faults: Faults;
  health: EndpointHealth;
  subscriptions: SubscriptionService;
  delta: DeltaService;
  /** Messages (in mail folders) and contacts. */
  items: OutlookItems;
  mail: MailRoutes;
  /** Directory users and groups as notifications and delta see them. */
  directoryObjects: DirectoryObjects;
  /** Teams: teams, channels, chats and their messages. */
  teams: TeamsStore;
  teamsRoutes: TeamsRoutes;
  dispatcher: Dispatcher;
  notifier: Notifier;
  graph: GraphApi;
  login: ReturnType<typeof loginRouter>;
  /** A user by id or userPrincipalName, or a 404 usage error. */
  user: (idOrUpn: string) => SimUser;
}

function siteUrls(site: SimSite): GraphSimUrls {
  if (!site.urls) throw new SimUsageError('the simulator has not started listening yet');
  return site.urls;
}

export function wireSim(
  options: GraphSimOptions,
  issuer: TokenIssuer,
  clock: SimClock,
  random: SeededRandom,
  caCertPem: string,
): SimParts {
  const site: SimSite = {};
  const records = new Records(options.maxRecords);
  const directory = new Directory();
  const calendar = new Calendar(() => clock.now());
  const faults = new Faults(options.faults, random);
  const health = new EndpointHealth(clock, options.delivery);
  const delta = new DeltaService(calendar, options.deltaPageSize);
  const items = new OutlookItems(
    () => clock.now(),
    () => calendar.nextSeq(),
  );
  const mail = new MailRoutes(items, () => calendar.currentSeq, options.deltaPageSize);
  const directoryObjects = new DirectoryObjects(directory, () => calendar.nextSeq());
  const user = (idOrUpn: string): SimUser => {
    const found = directory.findUser(idOrUpn);
    if (!found) throw new SimUsageError(`no user ${idOrUpn}`, 404);
    return found;
  };
  const teams = new TeamsStore({
    now: () => clock.now(),
    seq: () => calendar.nextSeq(),
    graphBase: () => siteUrls(site).graph,
    user: (idOrUpn, tenantId) => {
      const found = directory.findUser(idOrUpn, tenantId);
      if (!found) throw new SimUsageError(`no user ${idOrUpn} in tenant ${tenantId}`, 404);
      return found;
    },
    firstUser: (tenantId) => {
      const first = directory.listUsers(tenantId)[0];
      if (!first) throw new SimUsageError(`tenant ${tenantId} has no users to post as`, 404);
      return first;
    },
  });
  const teamsRoutes = new TeamsRoutes(teams, () => calendar.currentSeq);
  const notifier = new Notifier({
    clock,
    records,
    faults,
    calendar,
    delivery: options.delivery,
    subscriptions: () => subscriptions,
    dispatcher: () => dispatcher,
    user,
    graphBase: () => siteUrls(site).graph,
    teams,
  });
  const subscriptions = new SubscriptionService({
    clock,
    directory,
    records,
    options: options.subscriptions,
    throttling: options.throttling,
    retryAfterSeconds: (ms) => Math.max(1, Math.ceil(ms / clock.speed / 1000)),
    sendLifecycle: (sub, event) => notifier.lifecycle(sub, event),
    mailFolder: (userId, ref) => items.folder(userId, 'messages', ref)?.id,
    calendar: (userId, ref) => calendar.calendars.list(userId).find((c) => c.id === ref)?.id,
    teams: {
      team: (tenantId, teamId) => teams.team(tenantId, teamId),
      channel: (tenantId, teamId, channelId) => teams.channel(tenantId, teamId, channelId),
      chat: (tenantId, chatId) => teams.chat(tenantId, chatId),
    },
    onHandshake: (r) =>
      records.attempts.push({
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
  const dispatcher = new Dispatcher({
    clock,
    options: options.delivery,
    faults,
    health,
    records,
    subscriptionState: (sub) =>
      !subscriptions.byId(sub.id) ? 'gone' : subscriptions.isAuthorized(sub) ? 'active' : 'paused',
    onLost: (sub) => notifier.missed(sub),
    validationTokens: (pairs) =>
      Promise.all(pairs.map((p) => issuer.validationToken(p.appId, p.tenantId, siteUrls(site).authority))),
  });
  const graph = new GraphApi({
    options,
    clock,
    random,
    issuer,
    directory,
    calendar,
    delta,
    mail,
    directoryRoutes: new DirectoryRoutes(directoryObjects, () => calendar.currentSeq, options.deltaPageSize),
    teamsRoutes,
    subscriptions,
    faults,
    records,
    graphBase: () => siteUrls(site).graph,
  });
  const login = loginRouter({
    authority: () => siteUrls(site).authority,
    graphOrigin: () => siteUrls(site).base,
    clock,
    directory,
    faults,
    issuer,
    onTokenIssued: () => undefined,
  });
  calendar.onChange((change) => notifier.eventChanged(change));
  items.onChange((change) => notifier.itemChanged(change));
  directoryObjects.onChange((change) => notifier.directoryChanged(change));
  teams.onChange((change) => notifier.teamsChanged(change));
  for (const tenant of options.tenants) {
    directory.addTenant(tenant);
    for (const u of tenant.users) directory.addUser(tenant.id, u);
    for (let i = 1; i <= options.extraUsersPerTenant; i++) {
      const n = String(i).padStart(4, '0');
      directory.addUser(tenant.id, {
        userPrincipalName: `user-${n}@${tenant.domain}`,
        displayName: `User ${n}`,
      });
    }
  }
  for (const app of options.apps) directory.addApp(app);
  if (options.seedTeams)
    for (const tenant of options.tenants) {
      const name = tenant.domain.split('.')[0]!;
      const team = teams.addTeam(tenant.id, { displayName: `${name[0]!.toUpperCase()}${name.slice(1)} team` });
      teams.addChannel(team.id, { displayName: 'General' });
      teams.addChat(tenant.id, { chatType: 'group', topic: 'Team chat', members: tenant.users.map((u) => u.id) });
    }
  return {
    options,
    clock,
    random,
    issuer,
    caCertPem,
    site,
    records,
    directory,
    calendar,
    faults,
    health,
    subscriptions,
    delta,
    items,
    mail,
    directoryObjects,
    teams,
    teamsRoutes,
    dispatcher,
    notifier,
    graph,
    login,
    user,
  };
}
