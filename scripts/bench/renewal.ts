// `pnpm bench:renewal`: renews N subscriptions (default 10,000) against graph-sim's subscription-API throttle
// (500 writes per 20 s per app and tenant, as Graph) and prints the time and its ratio to the minimum the
// throttle allows. The subscriptions are seeded straight into graph-sim and the store (creating them would
// take as long again), then renewed through Graph's API by the subscription manager.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createAppFromEnv, FileSubscriptionStore, silentLogger } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { pipelineEnv } from '@graph2kafka/testkit';

const { values: args } = parseArgs({ options: { subscriptions: { type: 'string', default: '10000' } } });
const count = Number(args.subscriptions);
const log = (line: string): void => console.log(`[bench:renewal] ${line}`);
const WRITES_PER_WINDOW = 500;
const WINDOW_S = 20;

const sim = await GraphSim.start({ extraUsersPerTenant: count, maxRecords: 50_000 });
try {
  const stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'g2k-bench-renewal-')), 'state');
  const notificationUrl = 'http://127.0.0.1:9/notifications';
  const users = sim.directory
    .listUsers(sim.defaults.tenantId)
    .filter((u) => u.userPrincipalName.startsWith('user-'))
    .slice(0, count);
  const seeded = sim.seedSubscriptions({
    userIds: users.map((u) => u.id),
    notificationUrl,
    lifecycleNotificationUrl: 'http://127.0.0.1:9/lifecycle',
    expiresInMinutes: 600,
  });
  const store = new FileSubscriptionStore(stateDir);
  const now = new Date().toISOString();
  for (const s of seeded) {
    await store.put({
      id: s.id,
      tenantId: sim.defaults.tenantId,
      userId: s.userId,
      resource: `/users/${s.userId}/events`,
      changeType: 'created,updated,deleted',
      clientState: s.clientState,
      notificationUrl,
      lifecycleNotificationUrl: 'http://127.0.0.1:9/lifecycle',
      expirationDateTime: s.expirationDateTime,
      createdAt: now,
      updatedAt: now,
    });
  }
  const { env } = pipelineEnv(sim, {
    KAFKA_BROKERS: '127.0.0.1:9',
    G2K_STATE_STORE: `file:${stateDir}`,
    G2K_NOTIFICATION_URL: notificationUrl,
    G2K_LIFECYCLE_URL: 'http://127.0.0.1:9/lifecycle',
    G2K_SUBSCRIBE_USERS: users.map((u) => u.id).join(','),
  });
  const app = await createAppFromEnv(env, [], { logger: silentLogger });
  log(
    `${seeded.length} subscriptions seeded; renewing through PATCH /subscriptions/{id} at Graph's limit of ${WRITES_PER_WINDOW} writes per ${WINDOW_S} s`,
  );
  const started = performance.now();
  const report = await app.manager!.renewAll((line) =>
    log(`${line} after ${((performance.now() - started) / 1000).toFixed(0)} s`),
  );
  const elapsed = (performance.now() - started) / 1000;
  const minimum = (Math.ceil(count / WRITES_PER_WINDOW) - 1) * WINDOW_S;
  const throttled = sim.records.requests.all().filter((r) => r.status === 429).length;
  log(`renewed ${report.renewed.length} of ${count}, errors ${report.errors.length}, 429 answers ${throttled}`);
  log(
    `time ${elapsed.toFixed(1)} s; minimum the throttle allows ${minimum} s; ratio ${(elapsed / Math.max(1, minimum)).toFixed(3)} (goal <= 1.1)`,
  );
  await app.close();
} finally {
  await sim.stop();
}
