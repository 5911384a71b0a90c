import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  createAppFromEnv,
  createEncryptionCertificate,
  KINDS,
  silentLogger,
  type Graph2Kafka,
} from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { pipelineEnv, recordValue as value, richEnv, TopicReader } from '@graph2kafka/testkit';
import { httpHandler } from '../src/handlers.ts';
import { serveAzureHandler } from './azure-bridge.ts';

const SELECT = KINDS.events.rich!.defaultSelect.split(',');

/** Rich notifications through `@azure/functions`' own HttpRequest/InvocationContext, with a rotation. */
describe('Azure handlers: rich notifications end to end (graph-sim, real Kafka)', () => {
  let sim: GraphSim;
  let app: Graph2Kafka;
  let reader: TopicReader;
  let servers: Array<Awaited<ReturnType<typeof serveAzureHandler>>>;
  let userId: string;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    userId = sim.defaults.users[1]!.id;
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
  });

  afterAll(async () => {
    await reader?.stop();
    for (const { server } of servers ?? []) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await app?.close();
    await sim?.stop();
  });

  it('records equal the event restricted to $select with no Graph read; a rotation mid-run loses or refuses nothing', async () => {
    const file = join(tmpdir(), `g2k-azure-rich-${process.pid}-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ subscriptions: [{ kind: 'events', users: [userId], mode: 'rich' }] }));
    const first = await createEncryptionCertificate('azure-rich-1');
    const setup = pipelineEnv(sim, {
      G2K_SUBSCRIPTIONS_FILE: file,
      G2K_NOTIFICATION_URL: servers[0]!.url,
      G2K_LIFECYCLE_URL: servers[1]!.url,
    });
    app = await createAppFromEnv({ ...setup.env, ...richEnv(sim, first) }, [], { logger: silentLogger });
    reader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), setup.topic);
    expect(await app.manager!.reconcile()).toMatchObject({ errors: [], created: [expect.any(String)] });
    const reads = sim.records.requests.all().length;
    const made = [sim.createEvent(userId, { subject: 'one', body: 'unselected' })];
    made.push(sim.createEvent(userId, { subject: 'two' }));
    await sim.settled();

    // The next certificate: deployed as current with the first as previous; the timer rotates the subscription.
    const second = await createEncryptionCertificate('azure-rich-2');
    const before = app;
    app = await createAppFromEnv({ ...setup.env, ...richEnv(sim, second, first) }, [], { logger: silentLogger });
    await before.close();
    made.push(sim.createEvent(userId, { subject: 'three (old certificate, new instance)' }));
    await sim.settled();
    expect((await app.manager!.reconcile()).renewed).toHaveLength(1);
    expect(sim.subscriptions.forMailbox(userId)[0]!.encryptionCertificateId).toBe('azure-rich-2');
    made.push(sim.createEvent(userId, { subject: 'four (new certificate)' }));
    await sim.settled();

    for (const e of made) {
      const v = value(
        await reader.waitForMatch((r) => r.key === `${sim.defaults.tenantId}/${userId}/${e.immutableId}`),
      );
      const json = sim.eventJson(userId, e.immutableId);
      expect(v).toMatchObject({ enriched: true, fromNotification: true });
      expect(v.event).toEqual({
        '@odata.type': '#Microsoft.Graph.Event',
        '@odata.id': `Users/${userId}/Events/${e.immutableId}`,
        '@odata.etag': json['@odata.etag'],
        id: e.immutableId,
        ...Object.fromEntries(SELECT.map((p) => [p, json[p]])),
      });
    }
    const resourceReads = sim.records.requests
      .all()
      .slice(reads)
      .filter((r) => r.path.startsWith('/v1.0/') && !r.path.startsWith('/v1.0/subscriptions'));
    expect(resourceReads).toEqual([]);
    expect(sim.notifications({ kind: 'change' }).filter((n) => n.state !== 'delivered')).toEqual([]);
    expect(app.receiver.counters.retryLater + before.receiver.counters.retryLater).toBe(0);
  }, 60_000);
});
