import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createEncryptionCertificate } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import {
  richEnv,
  runTeamsScenario,
  teamsPlace,
  teamsProblems,
  TopicReader,
  type TeamsPlace,
} from '@graph2kafka/testkit';
import { startPipeline, type Pipeline } from './pipeline.ts';

/** Teams channel (basic) and chat (rich) messages through a real functions-framework HTTP server. */
describe('GCP function: Teams messages end to end (graph-sim → functions-framework → real Kafka)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let places: TeamsPlace[];
  let channel: TopicReader;
  let chat: TopicReader;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    // Each of the four ways in: a channel basic and a chat rich, a channel rich and a chat basic.
    places = [teamsPlace(sim), teamsPlace(sim, { channel: 'rich', chat: 'basic' })];
    const file = join(tmpdir(), `g2k-gcp-teams-${process.pid}-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ subscriptions: places.flatMap((p) => p.entries) }));
    const cert = await createEncryptionCertificate('g2k-gcp-teams');
    pipe = await startPipeline(sim, { G2K_SUBSCRIPTIONS_FILE: file, ...richEnv(sim, cert) }, {}, { subscribe: true });
    const brokers = pipe.env.KAFKA_BROKERS!.split(',');
    channel = await TopicReader.start(brokers, pipe.topics.channelMessages);
    chat = await TopicReader.start(brokers, pipe.topics.chatMessages);
    expect(await pipe.app.manager!.reconcile()).toMatchObject({
      errors: [],
      created: Array.from({ length: 4 }, () => expect.any(String)),
    });
  }, 60_000);

  afterAll(async () => {
    await channel?.stop();
    await chat?.stop();
    await pipe?.stop();
    await sim?.stop();
  });

  it('messages, a reply, edits, soft deletes and a purge land as documented, basic and rich', async () => {
    for (const place of places) {
      const outcome = await runTeamsScenario(sim, place, { channel, chat });
      expect({ modes: place.modes, problems: teamsProblems(outcome) }).toEqual({ modes: place.modes, problems: [] });
    }
  });
});
