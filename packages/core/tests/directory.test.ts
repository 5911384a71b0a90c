import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GraphSim } from '@graph2kafka/graph-sim';
import { recordValue, TopicReader } from '@graph2kafka/testkit';
import { startPipeline, type Pipeline } from './served-pipeline.ts';

const value = recordValue;

/** Tenant-wide directory subscriptions (`/users`, `/groups`) through the served app. */
describe('directory users and groups end to end (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let users: TopicReader;
  let groups: TopicReader;
  let tenantId: string;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    tenantId = sim.defaults.tenantId;
    const file = join(tmpdir(), `g2k-directory-${process.pid}-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ subscriptions: [{ kind: 'users' }, { kind: 'groups' }] }));
    pipe = await startPipeline(sim, { G2K_SUBSCRIPTIONS_FILE: file }, {}, { subscribe: true });
    const brokers = pipe.env.KAFKA_BROKERS!.split(',');
    users = await TopicReader.start(brokers, pipe.topics.users);
    groups = await TopicReader.start(brokers, pipe.topics.groups);
    const report = await pipe.app.manager!.reconcile();
    expect(report).toMatchObject({ errors: [] });
    expect(report.created).toHaveLength(2);
  }, 60_000);

  afterAll(async () => {
    await users?.stop();
    await groups?.stop();
    await pipe?.stop();
    await sim?.stop();
  });

  it('one subscription per tenant and kind, for updated and deleted', () => {
    const subs = sim.subscriptions.all().filter((s) => s.tenantId === tenantId);
    expect(subs.map((s) => [s.resource, s.changeTypes.join(',')]).sort()).toEqual([
      ['/groups', 'updated,deleted'],
      ['/users', 'updated,deleted'],
    ]);
  });

  it('a user changed, created and deleted: records keyed tenant/users/id, read with the default $select', async () => {
    const adele = sim.defaults.users[0]!;
    sim.updateDirectoryObject('users', adele.id, { jobTitle: 'Retail Manager' });
    const changed = await users.waitForMatch(
      (r) => value(r).objectId === adele.id && value(r).source === 'notification',
    );
    expect(changed.key).toBe(`${tenantId}/users/${adele.id}`);
    expect(value(changed)).toMatchObject({
      kind: 'users',
      changeType: 'updated',
      enriched: true,
      user: { id: adele.id, jobTitle: 'Retail Manager', userPrincipalName: adele.userPrincipalName },
    });
    // A directory object belongs to the tenant: no mailbox field.
    expect(value(changed)).not.toHaveProperty('userId');
    const hired = sim.addUser(tenantId, { userPrincipalName: 'nestor@contoso.onmicrosoft.com' });
    expect(value(await users.waitForMatch((r) => value(r).objectId === hired.id))).toMatchObject({
      changeType: 'updated',
      user: { userPrincipalName: 'nestor@contoso.onmicrosoft.com' },
    });
    sim.deleteDirectoryObject('users', hired.id);
    const deleted = await users.waitForMatch(
      (r) => value(r).objectId === hired.id && value(r).changeType === 'deleted',
    );
    expect(value(deleted)).toMatchObject({ deleteConfirmed: true, gone: true });
    await users.waitForMatch((r) => r.key === `${tenantId}/users/${hired.id}` && r.value === null);
  });

  it('a group changed reaches the groups topic', async () => {
    const group = sim.addGroup(tenantId, { displayName: 'Retail', members: [sim.defaults.users[0]!.id] });
    sim.updateDirectoryObject('groups', group.id, { description: 'Stores and outlets' });
    const record = await groups.waitForMatch(
      (r) =>
        value(r).objectId === group.id &&
        (value(r).group as { description?: string } | null)?.description === 'Stores and outlets',
    );
    expect(record.key).toBe(`${tenantId}/groups/${group.id}`);
    expect(value(record)).toMatchObject({ kind: 'groups', group: { displayName: 'Retail' } });
  });

  it('a membership change is an updated group whose record carries the members read from Graph', async () => {
    const [adele, alex] = sim.defaults.users;
    const group = sim.addGroup(tenantId, { displayName: 'Field', members: [adele!.id] });
    const members = (r: Parameters<typeof value>[0]) =>
      ((value(r).group as { members?: Array<{ id: string }> } | null)?.members ?? []).map((m) => m.id).sort();
    sim.addGroupMember(group.id, alex!.id);
    const joined = await groups.waitForMatch((r) => value(r).objectId === group.id && members(r).length === 2);
    expect(members(joined)).toEqual([adele!.id, alex!.id].sort());
    expect(value(joined)).toMatchObject({ changeType: 'updated', enriched: true, reducedProperties: null });
    expect((value(joined).group as { members: unknown[] }).members[0]).toEqual({
      id: expect.any(String),
      '@odata.type': '#microsoft.graph.user',
    });
    sim.removeGroupMember(group.id, adele!.id);
    const left = await groups.waitForMatch((r) => value(r).objectId === group.id && members(r).join() === alex!.id);
    expect(value(left)).toMatchObject({ changeType: 'updated', source: 'notification' });
  });

  it('a membership change while the groups subscription was gone comes back by delta, members included', async () => {
    const [adele, alex] = sim.defaults.users;
    const group = sim.addGroup(tenantId, { displayName: 'Night shift', members: [adele!.id] });
    await groups.waitForMatch((r) => value(r).objectId === group.id);
    const sub = sim.subscriptions.all().find((s) => s.resource === '/groups')!;
    sim.removeSubscription(sub.id);
    sim.addGroupMember(group.id, alex!.id);
    const report = await pipe.app.manager!.reconcile();
    expect(report).toMatchObject({ errors: [] });
    expect(report.recreated).toHaveLength(1);
    const record = await groups.waitForMatch((r) => value(r).objectId === group.id && value(r).source === 'resync');
    const ids = ((value(record).group as { members: Array<{ id: string }> }).members ?? []).map((m) => m.id).sort();
    expect(ids).toEqual([adele!.id, alex!.id].sort());
  });

  it('a dropped subscription (no missed for directory kinds) is recreated, and delta brings what changed meanwhile', async () => {
    const sub = sim.subscriptions.all().find((s) => s.resource === '/users')!;
    sim.removeSubscription(sub.id);
    const megan = sim.defaults.users[1]!;
    sim.updateDirectoryObject('users', megan.id, { department: 'Sales' });
    const report = await pipe.app.manager!.reconcile();
    expect(report).toMatchObject({ errors: [], deleted: [] });
    expect(report.recreated).toHaveLength(1);
    const record = await users.waitForMatch((r) => value(r).objectId === megan.id && value(r).source === 'resync');
    expect(value(record)).toMatchObject({ user: { department: 'Sales' }, enriched: true });
  });
});

/** What one notification may cost while Graph waits: a large group's members are read by the repair, not then. */
describe('a group of more than one page of members (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let groups: TopicReader;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 }, extraUsersPerTenant: 1_000 });
    const file = join(tmpdir(), `g2k-groups-${process.pid}-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ subscriptions: [{ kind: 'groups' }] }));
    pipe = await startPipeline(sim, { G2K_SUBSCRIPTIONS_FILE: file }, {}, { subscribe: true });
    groups = await TopicReader.start(pipe.env.KAFKA_BROKERS!.split(','), pipe.topics.groups);
    expect((await pipe.app.manager!.reconcile()).errors).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await groups?.stop();
    await pipe?.stop();
    await sim?.stop();
  });

  it('reads one page of members while Graph waits; the repair record brings all 1,000', async () => {
    const tenantId = sim.defaults.tenantId;
    const members = sim.directory
      .listUsers(tenantId)
      .filter((u) => u.userPrincipalName.startsWith('user-'))
      .map((u) => u.id);
    const group = sim.addGroup(tenantId, { displayName: 'Everyone', members });
    const pagesBefore = sim.records.requests.all().filter((r) => r.path.includes(`/groups/${group.id}/members`)).length;
    const first = await groups.waitForMatch((r) => value(r).objectId === group.id);
    expect(value(first)).toMatchObject({ enriched: false, notEnrichedReason: 'relation_deferred' });
    await sim.settled();
    const pages = sim.records.requests.all().filter((r) => r.path.includes(`/groups/${group.id}/members`)).length;
    expect(pages - pagesBefore).toBe(1);
    const report = await pipe.app.repairer.drain(Date.now() + 30_000);
    expect(report.repaired).toBe(1);
    const repaired = await groups.waitForMatch((r) => value(r).objectId === group.id && value(r).source === 'repair');
    expect((value(repaired).group as { members: unknown[] }).members).toHaveLength(1_000);
  }, 60_000);
});
