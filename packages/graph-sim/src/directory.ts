import { SimUsageError } from './errors.ts';
import { guid } from './ids.ts';
import type { SeedApp, SeedTenant } from './options.ts';
import type { MailboxPurpose, SimApp, SimRoomList, SimTenant, SimUser } from './types.ts';

export interface NewUser {
  id?: string;
  userPrincipalName: string;
  displayName?: string;
  userPurpose?: MailboxPurpose;
  /** A room's room list, by its email address. */
  roomList?: string;
}

const PURPOSES = new Set<MailboxPurpose>(['user', 'room', 'equipment', 'shared']);

/** Tenants, their users (mailboxes) and the app registrations that may call Graph. */
export class Directory {
  readonly tenants = new Map<string, SimTenant>();
  private readonly users = new Map<string, SimUser>();
  private readonly usersByUpn = new Map<string, SimUser>();
  readonly apps = new Map<string, SimApp>();
  /** Security groups: id → tenant and member user ids. */
  readonly groups = new Map<string, { id: string; tenantId: string; displayName: string; members: Set<string> }>();

  addTenant(seed: Pick<SeedTenant, 'id' | 'domain'>): SimTenant {
    if (this.tenants.has(seed.id)) throw new SimUsageError(`tenant ${seed.id} already exists`, 409);
    const tenant = { id: seed.id, domain: seed.domain.toLowerCase() };
    this.tenants.set(tenant.id, tenant);
    return tenant;
  }

  /** A tenant by GUID or by its domain, as the login endpoint accepts both. */
  findTenant(idOrDomain: string): SimTenant | undefined {
    const key = idOrDomain.toLowerCase();
    return this.tenants.get(key) ?? [...this.tenants.values()].find((t) => t.domain === key);
  }

  /** Room lists (Places API), by email address (lower-case). */
  readonly roomLists = new Map<string, SimRoomList>();

  addUser(tenantId: string, input: NewUser): SimUser {
    const tenant = this.tenants.get(tenantId);
    if (!tenant) throw new SimUsageError(`tenant ${tenantId} does not exist`, 404);
    const purpose = input.userPurpose ?? 'user';
    if (!PURPOSES.has(purpose))
      throw new SimUsageError(`userPurpose must be one of ${[...PURPOSES].join(', ')}, got ${JSON.stringify(purpose)}`);
    const roomList = input.roomList?.toLowerCase();
    if (roomList !== undefined) {
      if (purpose !== 'room') throw new SimUsageError('only a room is in a room list');
      if (this.roomLists.get(roomList)?.tenantId !== tenantId)
        throw new SimUsageError(`tenant ${tenantId} has no room list ${input.roomList}`, 404);
    }
    const id = input.id ?? guid();
    if (this.users.has(id)) throw new SimUsageError(`user ${id} already exists`, 409);
    if (this.usersByUpn.has(input.userPrincipalName.toLowerCase())) {
      throw new SimUsageError(`userPrincipalName ${input.userPrincipalName} is taken`, 409);
    }
    const user: SimUser = {
      id,
      tenantId,
      userPrincipalName: input.userPrincipalName,
      displayName: input.displayName ?? input.userPrincipalName.split('@')[0]!,
      mail: input.userPrincipalName,
      userPurpose: purpose,
      ...(roomList !== undefined ? { roomList } : {}),
    };
    this.users.set(id, user);
    this.usersByUpn.set(user.userPrincipalName.toLowerCase(), user);
    return user;
  }

  /** A mailbox by id or userPrincipalName, seen from `tenantId` (other tenants' users do not exist there). */
  findUser(idOrUpn: string, tenantId?: string): SimUser | undefined {
    const user = this.users.get(idOrUpn.toLowerCase()) ?? this.usersByUpn.get(idOrUpn.toLowerCase());
    if (!user || (tenantId && user.tenantId !== tenantId)) return undefined;
    return user;
  }

  addGroup(
    tenantId: string,
    input: { id?: string; displayName: string; members: string[] },
  ): { id: string; members: string[] } {
    if (!this.tenants.has(tenantId)) throw new SimUsageError(`tenant ${tenantId} does not exist`, 404);
    const members = input.members.map((m) => {
      const user = this.findUser(m, tenantId);
      if (!user) throw new SimUsageError(`no user ${m} in tenant ${tenantId}`, 404);
      return user.id;
    });
    const group = { id: input.id ?? guid(), tenantId, displayName: input.displayName, members: new Set(members) };
    this.groups.set(group.id, group);
    return { id: group.id, members: [...group.members] };
  }

  /** A room list of the Places API: a name and an email address, unique in the directory. */
  addRoomList(tenantId: string, input: { displayName: string; emailAddress: string }): SimRoomList {
    if (!this.tenants.has(tenantId)) throw new SimUsageError(`tenant ${tenantId} does not exist`, 404);
    const email = input.emailAddress.toLowerCase();
    if (!/^[^@\s/]+@[^@\s/]+$/.test(email)) throw new SimUsageError('a room list emailAddress is an email address');
    if (this.roomLists.has(email) || this.usersByUpn.has(email))
      throw new SimUsageError(`${input.emailAddress} is taken`, 409);
    const list = { id: guid(), tenantId, displayName: input.displayName, emailAddress: email };
    this.roomLists.set(email, list);
    return list;
  }

  listUsers(tenantId?: string): SimUser[] {
    return [...this.users.values()].filter((u) => !tenantId || u.tenantId === tenantId);
  }

  addApp(seed: SeedApp): SimApp {
    if (this.apps.has(seed.clientId)) throw new SimUsageError(`app ${seed.clientId} already exists`, 409);
    const app: SimApp = {
      clientId: seed.clientId,
      clientSecret: seed.clientSecret,
      displayName: seed.displayName,
      consentedTenants: new Set(),
      servicePrincipalIds: new Map(),
    };
    this.apps.set(app.clientId, app);
    for (const tenantId of seed.tenants) this.grant(app.clientId, tenantId);
    return app;
  }

  app(clientId: string): SimApp {
    const app = this.apps.get(clientId);
    if (!app) throw new SimUsageError(`app ${clientId} is not registered`, 404);
    return app;
  }

  grant(clientId: string, tenantId: string): void {
    if (!this.tenants.has(tenantId)) throw new SimUsageError(`tenant ${tenantId} does not exist`, 404);
    const app = this.app(clientId);
    app.consentedTenants.add(tenantId);
    if (!app.servicePrincipalIds.has(tenantId)) app.servicePrincipalIds.set(tenantId, guid());
  }

  revoke(clientId: string, tenantId: string): void {
    this.app(clientId).consentedTenants.delete(tenantId);
  }

  isConsented(clientId: string, tenantId: string): boolean {
    return this.apps.get(clientId)?.consentedTenants.has(tenantId) ?? false;
  }
}
