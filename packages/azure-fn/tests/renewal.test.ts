import { InvocationContext, type Timer } from '@azure/functions';
import { createAppFromEnv, RenewalNotConfigured, silentLogger, type Graph2Kafka } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { freePort, pipelineEnv } from '@graph2kafka/testkit';
import { serveApp } from '@graph2kafka/core/http';
import { renewalTimer } from '../src/functions/renewal.ts';

const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: true },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

describe('Azure renewal timer', () => {
  let sim: GraphSim;
  let app: Graph2Kafka;
  let closeReceiver: () => Promise<void>;
  beforeAll(async () => {
    sim = await GraphSim.start();
    const port = await freePort();
    const setup = pipelineEnv(sim, {
      G2K_NOTIFICATION_URL: `http://127.0.0.1:${port}/notifications`,
      G2K_LIFECYCLE_URL: `http://127.0.0.1:${port}/lifecycle`,
      G2K_SUBSCRIBE_USERS: sim.defaults.users[0]!.id,
    });
    app = await createAppFromEnv(setup.env, [], { logger: silentLogger });
    closeReceiver = (await serveApp(app, port)).close;
  });
  afterAll(async () => {
    await closeReceiver();
    await app.close();
    await sim.stop();
  });

  it('reconciles the subscriptions on each run and logs its progress', async () => {
    const logs: string[] = [];
    const context = new InvocationContext({
      invocationId: 't1',
      functionName: 'subscriptionRenewal',
      logHandler: (_level, ...args) => logs.push(args.map(String).join(' ')),
    });
    await renewalTimer(() => Promise.resolve(app))(timer, context);
    expect(sim.subscriptions.all()).toHaveLength(1);
    expect(logs.join('\n')).toMatch(/created 1, renewed 0/);
  });

  it('fails the run with a clear error when the manager is not configured', async () => {
    const sim2 = await GraphSim.start();
    const app2 = await createAppFromEnv(pipelineEnv(sim2).env, [], { logger: silentLogger });
    try {
      const context = new InvocationContext({
        invocationId: 't2',
        functionName: 'subscriptionRenewal',
        logHandler: () => undefined,
      });
      await expect(renewalTimer(() => Promise.resolve(app2))(timer, context)).rejects.toBeInstanceOf(
        RenewalNotConfigured,
      );
    } finally {
      await app2.close();
      await sim2.stop();
    }
  });
});
