import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createAppFromEnv, createEncryptionCertificate, silentLogger, type Graph2Kafka } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import {
  pipelineEnv,
  richEnv,
  runTeamsScenario,
  teamsPlace,
  teamsProblems,
  TopicReader,
  type TeamsPlace,
} from '@graph2kafka/testkit';
import { httpHandler } from '../src/handlers.ts';
import { serveAzureHandler } from './azure-bridge.ts';

/** Teams channel (basic) and chat (rich) messages through `@azure/functions`' own HttpRequest/InvocationContext. */
describe('Azure handlers: Teams messages end to end (graph-sim, real Kafka)', () => {
  let sim: GraphSim;
  let app: Graph2Kafka;
  let channel: TopicReader;
  let chat: TopicReader;
  let places: TeamsPlace[];
  let servers: Array<Awaited<ReturnType<typeof serveAzureHandler>>>;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
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
    // Each of the four ways in: a channel basic and a chat rich, a channel rich and a chat basic.
    places = [teamsPlace(sim), teamsPlace(sim, { channel: 'rich', chat: 'basic' })];
    const file = join(tmpdir(), `g2k-azure-teams-${process.pid}-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ subscriptions: places.flatMap((p) => p.entries) }));
    const setup = pipelineEnv(sim, {
      G2K_SUBSCRIPTIONS_FILE: file,
      G2K_NOTIFICATION_URL: servers[0]!.url,
      G2K_LIFECYCLE_URL: servers[1]!.url,
      ...richEnv(sim, await createEncryptionCertificate('g2k-azure-teams')),
    });
    app = await createAppFromEnv(setup.env, [], { logger: silentLogger });
    const brokers = setup.env.KAFKA_BROKERS!.split(',');
    channel = await TopicReader.start(brokers, setup.topics.channelMessages);
    chat = await TopicReader.start(brokers, setup.topics.chatMessages);
    expect(await app.manager!.reconcile()).toMatchObject({
      errors: [],
      created: Array.from({ length: 4 }, () => expect.any(String)),
    });
  }, 60_000);

  afterAll(async () => {
    await channel?.stop();
    await chat?.stop();
    for (const { server } of servers ?? []) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await app?.close();
    await sim?.stop();
  });

  it('messages, a reply, edits, soft deletes and a purge land as documented, basic and rich', async () => {
    for (const place of places) {
      const outcome = await runTeamsScenario(sim, place, { channel, chat });
      expect({ modes: place.modes, problems: teamsProblems(outcome) }).toEqual({ modes: place.modes, problems: [] });
    }
  });
});
