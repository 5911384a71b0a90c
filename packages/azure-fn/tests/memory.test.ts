import { HttpRequest, InvocationContext } from '@azure/functions';
import { createAppFromEnv, silentLogger, type Graph2Kafka, type SubscriptionRecord } from '@graph2kafka/core';
import { BODY_COST_FACTOR, MemoryAdmission } from '@graph2kafka/core/http';
import { GraphSim } from '@graph2kafka/graph-sim';
import {
  createSubscription,
  emptyArraysBody,
  eventChangeBody,
  pipelineEnv,
  TopicReader,
  type PipelineEnv,
} from '@graph2kafka/testkit';
import { httpHandler } from '../src/handlers.ts';
import { serveAzureHandler } from './azure-bridge.ts';

/**
 * The budget an Azure instance gets by default: half of V8's heap limit, which V8 sets to about a quarter of the
 * Flex Consumption instance's 2,048 MB (infra/azure/main.tf). This process has a larger heap, so it is given.
 */
const AZURE_BUDGET = 268_435_456;
const HOSTILE_AT_ONCE = 80;
const MIB = 1_048_576;

let invocation = 0;
const context = () =>
  new InvocationContext({
    invocationId: `mem-${++invocation}`,
    functionName: 'graphNotifications',
    logHandler: () => undefined,
  });

const postOf = (body: Buffer) =>
  new HttpRequest({
    method: 'POST',
    url: 'http://127.0.0.1/api/notifications',
    headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
    body: { bytes: body },
  });

describe('Azure handler under hostile 1 MiB POSTs: the instance budget', () => {
  let sim: GraphSim;
  let setup: PipelineEnv;
  let app: Graph2Kafka;
  let reader: TopicReader;
  let sub: SubscriptionRecord;
  let user: string;
  let server: Awaited<ReturnType<typeof serveAzureHandler>>;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    setup = pipelineEnv(sim);
    app = await createAppFromEnv(setup.env, [], { logger: silentLogger });
    // Only for graph-sim's validation handshake when the subscription is created.
    server = await serveAzureHandler(
      'notifications',
      httpHandler(() => Promise.resolve(app)),
    );
    reader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), setup.topic);
    user = sim.defaults.users[1]!.id;
    sub = await createSubscription(sim, app.subscriptions, { userId: user, notificationUrl: server.url });
  }, 30_000);
  afterAll(async () => {
    await reader.stop();
    server.server.closeAllConnections();
    await new Promise((r) => server.server.close(r));
    await app.close();
    await sim.stop();
  });

  it('answers the hostile POSTs beyond the budget 503 unread, and every genuine POST beside them 202, into Kafka', async () => {
    const admission = new MemoryAdmission({ maxBytes: AZURE_BUDGET, maxBodyBytes: MIB });
    const handler = httpHandler(() => Promise.resolve(app), admission);
    // Spy on the parse: how many hostile bodies are in the receiver's hands at once.
    const handle = app.receiver.handle.bind(app.receiver);
    let parsing = 0;
    let mostParsing = 0;
    app.receiver.handle = async (body, receivedAt) => {
      mostParsing = Math.max(mostParsing, ++parsing);
      try {
        return await handle(body, receivedAt);
      } finally {
        parsing--;
      }
    };
    const events = Array.from({ length: 8 }, (_, i) => sim.createEvent(user, { subject: `azure genuine ${i}` }));
    const hostile = emptyArraysBody(MIB);
    const genuine = events.map((e) => eventChangeBody(sub, e.immutableId));
    try {
      // All in flight at once: the hostile POSTs first, the genuine ones behind them.
      const answers = await Promise.all([
        ...Array.from({ length: HOSTILE_AT_ONCE }, () => handler(postOf(hostile), context())),
        ...genuine.map((body) => handler(postOf(body), context())),
      ]);
      const hostileStatus = answers.slice(0, HOSTILE_AT_ONCE).map((a) => a.status);
      expect(answers.slice(HOSTILE_AT_ONCE).map((a) => a.status)).toEqual(genuine.map(() => 202));
      expect(hostileStatus.filter((s) => s !== 400 && s !== 503)).toEqual([]);
      // Large POSTs share half the budget: that many 1 MiB bodies fit, the rest were not read.
      const fit = Math.floor(AZURE_BUDGET / 2 / (BODY_COST_FACTOR * MIB));
      expect(hostileStatus.filter((s) => s === 503)).toHaveLength(HOSTILE_AT_ONCE - fit);
      expect(answers.find((a) => a.status === 503)?.headers).toMatchObject({ 'Retry-After': '2' });
      expect(mostParsing).toBeLessThanOrEqual(fit + genuine.length);
      expect(admission.reserved).toBe(0);
    } finally {
      app.receiver.handle = handle;
    }
    const keys = events.map((e) => `${sub.tenantId}/${user}/${e.immutableId}`);
    await reader.waitFor(keys.length, 30_000);
    await reader.readToEnd();
    expect([...new Set(reader.records.map((r) => r.key))].sort()).toEqual([...keys].sort());
  }, 60_000);
});
