import { HttpRequest, InvocationContext } from '@azure/functions';
import { createAppFromEnv, type Graph2Kafka } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { pipelineEnv } from '@graph2kafka/testkit';
import { httpHandler } from '../src/handlers.ts';
import { requestLogs } from '../src/logging.ts';

describe('Azure logs: every line a POST causes goes to its invocation, with its level', () => {
  let sim: GraphSim;
  let app: Graph2Kafka;
  beforeAll(async () => {
    sim = await GraphSim.start();
    // As the deployed app-loader builds it: the app logs through the request's logger.
    app = await createAppFromEnv(pipelineEnv(sim).env, [], { logger: requestLogs.logger });
  });
  afterAll(async () => {
    await app.close();
    await sim.stop();
  });

  const invoke = async (body: string, id: string) => {
    const lines: Array<{ level: string; text: string }> = [];
    const context = new InvocationContext({
      invocationId: id,
      functionName: 'graphNotifications',
      logHandler: (level, ...args) =>
        lines.push({ level, text: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ') }),
    });
    const request = new HttpRequest({
      method: 'POST',
      url: 'http://127.0.0.1/api/notifications',
      headers: { 'content-type': 'application/json' },
      body: { string: body },
    });
    const answer = await httpHandler(() => Promise.resolve(app))(request, context);
    return { status: answer.status, lines };
  };

  it('one warning line for a POST of foreign items, in that invocation only, naming no secret', async () => {
    const forged = JSON.stringify({
      value: [
        {
          subscriptionId: '3f0d2c7e-0000-4000-8000-000000000001',
          clientState: 'guessed-secret-value',
          tenantId: sim.defaults.tenantId,
          changeType: 'created',
          resource: `Users/${sim.defaults.users[0]!.id}/Events/AAMkX`,
        },
      ],
    });
    const [a, b] = await Promise.all([invoke(forged, 'inv-a'), invoke('{"value": 5}', 'inv-b')]);
    expect(a.status).toBe(202);
    expect(a.lines).toHaveLength(1);
    expect(a.lines[0]!.level).toBe('warning');
    expect(a.lines[0]!.text).toMatch(/^notification POST: not every item was produced .*"unknown_subscription":1/);
    expect(a.lines[0]!.text).not.toContain('guessed-secret-value');
    expect(b.status).toBe(400);
    expect(b.lines).toEqual([
      { level: 'warning', text: expect.stringMatching(/^malformed notification POST refused/) },
    ]);
  });
});
