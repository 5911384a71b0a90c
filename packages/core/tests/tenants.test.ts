import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GraphSim } from '@graph2kafka/graph-sim';
import { recordValue } from '@graph2kafka/testkit';
import { startPipeline, type Pipeline } from './served-pipeline.ts';

const value = recordValue;

/** One multi-tenant app registration, admin-consented in two tenants (graph-sim's Contoso and Fabrikam). */
describe('two tenants from one app (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let contoso: { tenantId: string; userId: string };
  let fabrikam: { tenantId: string; userId: string };

  beforeAll(async () => {
    sim = await GraphSim.start({
      delivery: { batchWindowMs: 20 },
      tokenLifetimeMinutes: { min: 20_000, max: 20_000 },
    });
    const users = sim.directory.listUsers();
    const home = users.find((u) => u.tenantId === sim.defaults.tenantId)!;
    const other = users.find((u) => u.tenantId !== sim.defaults.tenantId)!;
    contoso = { tenantId: home.tenantId, userId: home.id };
    fabrikam = { tenantId: other.tenantId, userId: other.id };
    const file = join(tmpdir(), `g2k-tenants-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        subscriptions: [
          { kind: 'events', users: [contoso.userId] },
          { tenant: fabrikam.tenantId, kind: 'events', users: [fabrikam.userId] },
        ],
      }),
    );
    // No G2K_ALLOWED_TENANTS: the desired state's tenants are the allow-list.
    pipe = await startPipeline(
      sim,
      { G2K_SUBSCRIPTIONS_FILE: file },
      { graphNow: () => sim.clock.now() },
      { subscribe: true },
    );
  }, 60_000);

  afterAll(async () => {
    await pipe?.stop();
    await sim?.stop();
  });

  it('subscribes in each tenant, and a change in each reaches Kafka with its tenant id', async () => {
    const report = await pipe.app.manager!.reconcile();
    expect(report).toMatchObject({ errors: [], skippedTenants: [] });
    expect(report.created).toHaveLength(2);
    expect(sim.subscriptions.forMailbox(contoso.userId).map((s) => s.tenantId)).toEqual([contoso.tenantId]);
    expect(sim.subscriptions.forMailbox(fabrikam.userId).map((s) => s.tenantId)).toEqual([fabrikam.tenantId]);
    const a = sim.createEvent(contoso.userId, { subject: 'contoso' });
    const b = sim.createEvent(fabrikam.userId, { subject: 'fabrikam' });
    const records = await pipe.reader.waitFor(2);
    const byEvent = new Map(records.map((r) => [value(r).eventId, r]));
    expect(value(byEvent.get(a.immutableId))).toMatchObject({ tenantId: contoso.tenantId, enriched: true });
    expect(value(byEvent.get(b.immutableId))).toMatchObject({
      tenantId: fabrikam.tenantId,
      enriched: true,
      event: { subject: 'fabrikam' },
    });
    expect(byEvent.get(b.immutableId)!.key).toBe(`${fabrikam.tenantId}/${fabrikam.userId}/${b.immutableId}`);
  });

  it('consent revoked in one tenant: reported and skipped, the other tenant unaffected', async () => {
    // Graph tells the revoked tenant's subscription to reauthorize; that cannot succeed without consent, so the
    // notification is answered "retry" and stays with Graph (not settled here) until consent comes back.
    sim.revokeConsent(sim.defaults.clientId, fabrikam.tenantId);
    // Past the renewal margin, so the healthy tenant's subscription is renewed in the same run.
    sim.clock.advance(6 * 24 * 3_600_000);
    const report = await pipe.app.manager!.reconcile();
    expect(report.skippedTenants.map((t) => t.tenantId)).toEqual([fabrikam.tenantId]);
    expect(report.skippedTenants[0]!.reason).toMatch(/consent|unauthorized|AADSTS|token|401|403/i);
    expect(report.errors.every((e) => e.startsWith(`tenant ${fabrikam.tenantId}`))).toBe(true);
    expect(report.renewed).toHaveLength(1);
    expect(report.deleted).toEqual([]);
    // The skipped tenant's subscription and secret are kept for when consent returns.
    expect(
      (await pipe.app.subscriptions.list()).filter((r) => !r.pending && r.tenantId === fabrikam.tenantId),
    ).toHaveLength(1);
    const before = pipe.reader.records.length;
    const c = sim.createEvent(contoso.userId, { subject: 'still flowing' });
    const [record] = (await pipe.reader.waitFor(before + 1)).slice(before);
    expect(value(record)).toMatchObject({ tenantId: contoso.tenantId, eventId: c.immutableId, enriched: true });
  }, 30_000);
});
