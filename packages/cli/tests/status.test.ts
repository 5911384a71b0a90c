import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createAppFromEnv, runRenewal, silentLogger, type Graph2Kafka, type StatusReport } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { freePort, pipelineEnv } from '@graph2kafka/testkit';
import { serveApp } from '@graph2kafka/core/http';

const run = promisify(execFile);
const cli = path.join(__dirname, '..', 'src', 'cli.ts');

async function status(env: Record<string, string>, json = false) {
  try {
    const { stdout } = await run(
      process.execPath,
      ['--conditions=@graph2kafka/source', cli, 'status', ...(json ? ['--json'] : [])],
      { env: { ...process.env, ...env }, timeout: 60_000 },
    );
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

/** A deployment against graph-sim: the functions' receiver on a port, the store the CLI reads. */
async function deployment(sim: GraphSim, user: number, extra: Record<string, string> = {}) {
  const port = await freePort();
  const setup = pipelineEnv(sim, {
    G2K_NOTIFICATION_URL: `http://127.0.0.1:${port}/notifications`,
    G2K_LIFECYCLE_URL: `http://127.0.0.1:${port}/lifecycle`,
    // One mailbox per deployment: Graph refuses a second subscription of one app to one resource (409).
    G2K_SUBSCRIBE_USERS: sim.defaults.users[user]!.id,
    ...extra,
  });
  const env = setup.env;
  const app: Graph2Kafka = await createAppFromEnv(env, [], { logger: silentLogger });
  const { close } = await serveApp(app, port);
  return {
    env,
    app,
    async stop() {
      await close();
      await app.close();
      setup.remove();
    },
  };
}

describe('graph2kafka status', () => {
  let sim: GraphSim;
  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
  });
  afterAll(() => sim.stop());

  it('says what needs doing before the first timer run, and healthy after a good one', async () => {
    const d = await deployment(sim, 0);
    try {
      const before = await status(d.env);
      expect(before.code).toBe(1);
      expect(before.stdout).toMatch(/NEEDS ACTION/);
      expect(before.stdout).toMatch(/no subscription is stored/);
      expect(before.stdout).toMatch(/no timer run is recorded/);

      const report = await runRenewal(d.app);
      expect(report.errors).toEqual([]);
      // Traffic the instance reports: one change, answered 202.
      sim.createEvent(sim.defaults.users[0]!.id, { subject: 'status check' });
      await sim.settled();
      await d.app.health.flush();

      const after = await status(d.env);
      expect(after.stdout).toMatch(/healthy/);
      expect(after.code).toBe(0);
      const json = JSON.parse((await status(d.env, true)).stdout) as StatusReport;
      expect(json).toMatchObject({
        healthy: true,
        actions: [],
        subscriptions: { counts: [{ tenantId: sim.defaults.tenantId, kind: 'events', state: 'active', count: 1 }] },
        timer: { runs: [{ ok: true, created: 1 }] },
        repair: { waiting: 0 },
        series: { due: 0, failing: 0 },
        deadLetters: { total: 0, notReplayed: 0 },
        answers: { posts: 1, statuses: { '202': 1 }, items: { produced: 1, unenriched: 0 } },
      });
      expect(json.subscriptions.next!.hours).toBeGreaterThan(48);
    } finally {
      await d.stop();
    }
  }, 90_000);

  it('shows a subscription that expires within a day as needing action, exit 1', async () => {
    // Five-hour subscriptions: every renewal leaves less than a day, which is what failing renewals look like.
    const d = await deployment(sim, 1, { G2K_SUBSCRIPTION_MINUTES: '300' });
    try {
      const r = await runRenewal(d.app);
      expect(r.errors).toEqual([]);
      expect(r.created).toHaveLength(1);
      const result = await status(d.env);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/NEEDS ACTION/);
      expect(result.stdout).toMatch(/expires in 5 h, within 24 h/);
      const json = JSON.parse((await status(d.env, true)).stdout) as StatusReport;
      expect(json.healthy).toBe(false);
      expect(json.actions).toHaveLength(1);
      expect(json.subscriptions.counts).toEqual([
        { tenantId: sim.defaults.tenantId, kind: 'events', state: 'renewal_due', count: 1 },
      ]);
    } finally {
      await d.stop();
    }
  }, 90_000);

  it('tells traffic Graph does not send apart from what needs action: made-up ids past the read limit', async () => {
    const own = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    const d = await deployment(own, 0);
    try {
      expect((await runRenewal(d.app)).errors).toEqual([]);
      const sub = (await d.app.subscriptions.list()).find((r) => !r.pending)!;
      // What a clientState holder can send: 250 made-up ids of the subscription's own mailbox in one POST.
      const value = Array.from({ length: 250 }, (_, i) => ({
        subscriptionId: sub.id,
        changeType: 'updated',
        resource: `Users/${sub.userId}/Events/AAMkmadeup${i}=`,
        clientState: sub.clientState,
        tenantId: sub.tenantId,
      }));
      const res = await fetch(d.env.G2K_NOTIFICATION_URL!, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ value }),
      });
      expect(res.status).toBe(202);
      await d.app.health.flush();
      const result = await status(d.env);
      // 50 of 250 records unenriched is over the 10% share that means Graph throttling, but Graph did not cause it.
      expect(result.stdout).toMatch(/: healthy/);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/0 item\(s\) rejected .*, 50 unenriched past a POST's 200-read limit/);
    } finally {
      await d.stop();
      await own.stop();
    }
  }, 90_000);

  it('shows a failed timer run with its error', async () => {
    const d = await deployment(sim, 0);
    try {
      await runRenewal(d.app);
      sim.revokeConsent(sim.defaults.clientId, sim.defaults.tenantId);
      const failed = await runRenewal(d.app);
      expect(failed.errors.length).toBeGreaterThan(0);
      const result = await status(d.env);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/the last timer run \(.*\) failed: /);
      expect(result.stdout).toMatch(/FAILED/);
    } finally {
      sim.grantConsent(sim.defaults.clientId, sim.defaults.tenantId);
      await d.stop();
    }
  }, 90_000);
});
