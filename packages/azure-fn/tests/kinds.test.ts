import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createAppFromEnv, silentLogger, type Graph2Kafka } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { pipelineEnv, recordValue, TopicReader } from '@graph2kafka/testkit';
import { httpHandler } from '../src/handlers.ts';
import { serveAzureHandler } from './azure-bridge.ts';

const value = recordValue;

/** Messages of a folder and contacts, through `@azure/functions`' own HttpRequest/InvocationContext. */
describe('Azure handlers: messages and contacts end to end (graph-sim, real Kafka)', () => {
  let sim: GraphSim;
  let app: Graph2Kafka;
  let messages: TopicReader;
  let contacts: TopicReader;
  let directoryUsers: TopicReader;
  let servers: Array<Awaited<ReturnType<typeof serveAzureHandler>>>;
  let userId: string;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    userId = sim.defaults.users[1]!.id;
    // The handlers find the app when Graph first calls; the app needs their URLs first.
    servers = [
      await serveAzureHandler(
        'notifications',
        httpHandler(() => Promise.resolve(app)),
      ),
      await serveAzureHandler(
        'lifecycle',
        httpHandler(() => Promise.resolve(app)),
      ),
    ];
    const file = join(tmpdir(), `g2k-azure-kinds-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        subscriptions: [
          { kind: 'messages', users: [userId], folders: ['inbox'] },
          { kind: 'contacts', users: [userId] },
          { kind: 'users' },
        ],
      }),
    );
    const setup = pipelineEnv(sim, {
      G2K_SUBSCRIPTIONS_FILE: file,
      G2K_NOTIFICATION_URL: servers[0]!.url,
      G2K_LIFECYCLE_URL: servers[1]!.url,
    });
    app = await createAppFromEnv(setup.env, [], { logger: silentLogger });
    const brokers = setup.env.KAFKA_BROKERS!.split(',');
    messages = await TopicReader.start(brokers, setup.topics.messages);
    contacts = await TopicReader.start(brokers, setup.topics.contacts);
    directoryUsers = await TopicReader.start(brokers, setup.topics.users);
    expect((await app.manager!.reconcile()).created).toHaveLength(3);
  }, 60_000);

  afterAll(async () => {
    await messages?.stop();
    await contacts?.stop();
    await directoryUsers?.stop();
    for (const { server } of servers ?? []) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await app?.close();
    await sim?.stop();
  });

  it('a message created, read and deleted: its record, then the confirmed delete and a tombstone', async () => {
    const m = sim.createItem('messages', userId, { subject: 'via Azure', toRecipients: ['adele@contoso.example'] });
    await sim.settled();
    sim.deleteItem('messages', userId, m.id);
    const [created, deleted, tombstone] = await messages.waitFor(3);
    const key = `${sim.defaults.tenantId}/${userId}/messages/${m.immutableId}`;
    expect([created!.key, deleted!.key, tombstone!.key]).toEqual([key, key, key]);
    expect(value(created)).toMatchObject({
      kind: 'messages',
      changeType: 'created',
      message: { subject: 'via Azure' },
    });
    expect(value(deleted)).toMatchObject({ changeType: 'deleted', deleteConfirmed: true });
    expect(tombstone!.value).toBeNull();
    // A message outside the watched folder is not this subscription's.
    sim.createItem('messages', userId, { subject: 'sent' }, 'sentitems');
    await sim.settled();
    expect(messages.records).toHaveLength(3);
  });

  it('a contact created and updated reaches the contacts topic enriched', async () => {
    const c = sim.createItem('contacts', userId, { givenName: 'Alex', surname: 'Wilber' });
    await sim.settled();
    sim.updateItem('contacts', userId, c.id, { jobTitle: 'Marketing Assistant' });
    const [created, updated] = await contacts.waitFor(2);
    expect(value(created)).toMatchObject({ kind: 'contacts', contactId: c.immutableId, enriched: true });
    expect(value(updated)).toMatchObject({ changeType: 'updated', contact: { jobTitle: 'Marketing Assistant' } });
  });

  it('a directory user changed and deleted, through the tenant-wide /users subscription', async () => {
    const hired = sim.addUser(sim.defaults.tenantId, { userPrincipalName: 'lynne@contoso.onmicrosoft.com' });
    sim.updateDirectoryObject('users', hired.id, { department: 'Legal' });
    const updated = await directoryUsers.waitForMatch(
      (r) => (value(r).user as { department?: string } | null)?.department === 'Legal',
    );
    expect(updated.key).toBe(`${sim.defaults.tenantId}/users/${hired.id}`);
    expect(value(updated)).toMatchObject({ kind: 'users', objectId: hired.id, enriched: true });
    sim.deleteDirectoryObject('users', hired.id);
    await directoryUsers.waitForMatch((r) => r.key === updated.key && r.value === null);
  });

  it('a dropped contacts subscription is recreated and the gap resynced', async () => {
    const sub = sim.subscriptions.forMailbox(userId).find((s) => s.kind === 'contacts')!;
    sim.removeSubscription(sub.id);
    const lost = sim.createItem('contacts', userId, { givenName: 'Gap' });
    const report = await app.manager!.reconcile();
    expect(report).toMatchObject({ errors: [], deleted: [] });
    expect(report.recreated).toHaveLength(1);
    const deadline = Date.now() + 20_000;
    while (!contacts.records.some((r) => value(r).contactId === lost.immutableId) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const record = contacts.records.find((r) => value(r).contactId === lost.immutableId);
    expect(value(record)).toMatchObject({ source: 'resync', contact: { givenName: 'Gap' } });
  });
});
