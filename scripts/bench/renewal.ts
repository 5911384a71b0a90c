// `pnpm bench:renewal`: keeps a fleet of subscriptions alive through graph-sim's subscription-API throttles
// (Graph's: 500 writes per 20 s per app and tenant, 2,000 per app across its tenants) and prints, per tenant,
// the time its renewals took against the minimum the throttles allow, and the longest single timer run.
//
//   pnpm bench:renewal                                                   10,000 subscriptions, one tenant
//   pnpm bench:renewal --tenants 10 --mailboxes 10000 --kinds events,messages,contacts     300,000
//   pnpm bench:renewal --rooms 2000                     and 2,000 room mailboxes per tenant (Places API)
//
// Every subscription is seeded straight into graph-sim and the state store, due for renewal (creating them
// would take as long again); then timer runs (`runRenewal`, the function the timers call, with its 5-minute
// reconcile share) follow one another until nothing is left, as a timer firing every few minutes would.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Collection,
  createAppFromEnv,
  FileDocumentStore,
  PostgresDocumentStore,
  runRenewal,
  silentLogger,
  subscriptionCollection,
  type DocumentStore,
} from '@graph2kafka/core';
import { GraphSim, type GraphSimInput } from '@graph2kafka/graph-sim';
import { pipelineEnv, startPostgres } from '@graph2kafka/testkit';
import { parseCommandLine } from '../args.ts';

const USAGE = `pnpm bench:renewal [options]: a fleet of due subscriptions kept alive through Graph's subscription throttles
  --tenants N             tenants (default 1)
  --mailboxes N           mailboxes per tenant (default 10000)
  --kinds K,…             kinds subscribed per mailbox, of events, messages, contacts (default events)
  --rooms N               room mailboxes per tenant too, found through the Places API (\`rooms: true\`; default 0)
  --store postgres|file   the state store (default postgres: a throwaway server)
  --subscriptions N       the old spelling of --mailboxes`;
const { values: args } = parseCommandLine(USAGE, {
  options: {
    tenants: { type: 'string', default: '1' },
    mailboxes: { type: 'string', default: '10000' },
    kinds: { type: 'string', default: 'events' },
    rooms: { type: 'string', default: '0' },
    store: { type: 'string', default: 'postgres' },
    /** The old spelling: this many mailboxes' events in one tenant. */
    subscriptions: { type: 'string' },
  },
});
const tenantCount = Number(args.tenants);
const mailboxes = Number(args.subscriptions ?? args.mailboxes);
const roomCount = Number(args.rooms);
if (!Number.isInteger(roomCount) || roomCount < 0) throw new Error(`--rooms must be a whole number, got ${args.rooms}`);
const kinds = args.kinds.split(',').map((k) => k.trim()) as Array<'events' | 'messages' | 'contacts'>;
const log = (line: string): void => console.log(`[bench:renewal] ${line}`);
const WRITES_PER_WINDOW = 500;
const APP_WRITES_PER_WINDOW = 2_000;
const WINDOW_S = 20;
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const tenants = Array.from({ length: tenantCount }, (_, i) => ({
  id: randomUUID(),
  domain: `tenant${i + 1}.onmicrosoft.com`,
  users: [],
}));
const simOptions: GraphSimInput = {
  tenants,
  apps: [
    {
      clientId: 'b3a9d5c1-2e4f-4a6b-8c7d-9e0f1a2b3c4d',
      clientSecret: 'graph-sim-dev-secret',
      displayName: 'graph2kafka (bench)',
      tenants: tenants.map((t) => t.id),
    },
  ],
  extraUsersPerTenant: mailboxes,
  maxRecords: 50_000,
  tokenLifetimeMinutes: { min: 600, max: 600 },
  // No reauthorizationRequired storm while the fleet is renewed (that is the lifecycle tests' subject).
  subscriptions: { authorizationMinutes: 100_000 },
};
const sim = await GraphSim.start(simOptions);
for (const tenant of tenants)
  for (let i = 1; i <= roomCount; i++)
    sim.addUser(tenant.id, {
      userPrincipalName: `room-${String(i).padStart(5, '0')}@${tenant.domain}`,
      userPurpose: 'room',
    });
let postgres: Awaited<ReturnType<typeof startPostgres>> | undefined;
try {
  const dir = mkdtempSync(path.join(tmpdir(), 'g2k-bench-renewal-'));
  let documents: DocumentStore;
  let storeSetting: string;
  if (args.store === 'postgres') {
    postgres = await startPostgres();
    documents = new PostgresDocumentStore(postgres.url);
    storeSetting = 'postgres';
  } else {
    mkdirSync(path.join(dir, 'state'));
    documents = new FileDocumentStore(path.join(dir, 'state'));
    storeSetting = `file:${path.join(dir, 'state')}`;
  }
  const subscriptions = new Collection(documents, subscriptionCollection);
  const notificationUrl = 'http://127.0.0.1:9/notifications';
  const lifecycleNotificationUrl = 'http://127.0.0.1:9/lifecycle';
  const renewWithinMinutes = 2_880;
  const desired: Array<{ tenant: string; kind: string; users?: string[]; rooms?: true }> = [];
  const seededAt = new Date().toISOString();
  let seeded = 0;
  const seedStarted = performance.now();
  for (const tenant of tenants) {
    const users = sim.directory
      .listUsers(tenant.id)
      .filter((u) => u.userPrincipalName.startsWith('user-'))
      .map((u) => u.id);
    const rooms = sim.directory
      .listUsers(tenant.id)
      .filter((u) => u.userPurpose === 'room')
      .map((u) => u.id);
    if (rooms.length) desired.push({ tenant: tenant.id, kind: 'events', rooms: true });
    for (const [kind, ids] of [
      ...kinds.map((k) => [k, users] as const),
      ...(rooms.length ? [['events', rooms] as const] : []),
    ]) {
      if (ids === users) desired.push({ tenant: tenant.id, kind, users });
      // Due now: within the renewal margin, spread over its first hours as a fleet's expirations are.
      const subs = sim.seedSubscriptions({
        userIds: ids,
        kind,
        notificationUrl,
        lifecycleNotificationUrl,
        expiresInMinutes: renewWithinMinutes - 60,
      });
      const records = subs.map((sub) => ({
        id: sub.id,
        tenantId: sub.tenantId,
        kind,
        userId: sub.userId,
        resource: sub.resource,
        changeType: 'created,updated,deleted',
        clientState: sub.clientState,
        notificationUrl,
        lifecycleNotificationUrl,
        expirationDateTime: sub.expirationDateTime,
        createdAt: seededAt,
        updatedAt: seededAt,
      }));
      for (let i = 0; i < records.length; i += 64)
        await Promise.all(records.slice(i, i + 64).map((r) => subscriptions.put(r)));
      seeded += records.length;
    }
  }
  const desiredFile = path.join(dir, 'subscriptions.json');
  writeFileSync(desiredFile, JSON.stringify({ subscriptions: desired }));
  log(
    `${seeded} subscriptions seeded (${tenantCount} tenants × ${mailboxes} mailboxes × ${kinds.join(', ')}${roomCount ? `, + ${roomCount} rooms × events` : ''}) into graph-sim and the ${args.store} store in ${s(performance.now() - seedStarted)}`,
  );
  await documents.close?.();

  const { env } = pipelineEnv(sim, {
    KAFKA_BROKERS: '127.0.0.1:9',
    G2K_STATE_STORE: storeSetting,
    ...(postgres ? { G2K_POSTGRES_URL: postgres.url } : {}),
    G2K_NOTIFICATION_URL: notificationUrl,
    G2K_LIFECYCLE_URL: lifecycleNotificationUrl,
    G2K_SUBSCRIPTIONS_FILE: desiredFile,
    G2K_RENEW_WITHIN_MINUTES: String(renewWithinMinutes),
  });
  const app = await createAppFromEnv(env, [], { logger: silentLogger });
  const perTenant = seeded / tenantCount;
  // The slower of the two quotas decides: the tenant's own, or its share of the app's.
  const minimumS =
    Math.max(Math.ceil(perTenant / WRITES_PER_WINDOW), Math.ceil(seeded / APP_WRITES_PER_WINDOW)) * WINDOW_S - WINDOW_S;
  log(
    `renewing through PATCH /subscriptions/{id}; the throttles allow it in ${minimumS} s at best (${WRITES_PER_WINDOW} writes per ${WINDOW_S} s per tenant, ${APP_WRITES_PER_WINDOW} per app)`,
  );

  // Per tenant: when its last subscription was renewed (sampled from graph-sim's own state).
  const renewedBy = Date.parse(seededAt) + (renewWithinMinutes - 60) * 60_000 + 60 * 60_000;
  const doneAt = new Map<string, number>();
  let throttled = 0;
  let seenRequests = sim.records.requests.total;
  let peakRss = 0;
  let peakHeap = 0;
  const started = performance.now();
  const sample = (): void => {
    const left = new Map<string, number>();
    for (const sub of sim.subscriptions.all()) if (sub.expirationMs < renewedBy) left.set(sub.tenantId, 1);
    for (const t of tenants) if (!left.has(t.id) && !doneAt.has(t.id)) doneAt.set(t.id, performance.now() - started);
    const log = sim.records.requests;
    const fresh = log.all().slice(Math.max(0, seenRequests - log.evicted));
    throttled += fresh.filter((r) => r.status === 429).length;
    seenRequests = log.total;
    const mem = process.memoryUsage();
    peakRss = Math.max(peakRss, mem.rss);
    peakHeap = Math.max(peakHeap, mem.heapUsed);
  };
  const sampler = setInterval(sample, 1_000);
  const runs: Array<{ ms: number; renewed: number; deferred: number; errors: number }> = [];
  try {
    for (let run = 1; run <= 100; run++) {
      const runStarted = performance.now();
      const report = await runRenewal(app);
      const ms = performance.now() - runStarted;
      runs.push({ ms, renewed: report.renewed.length, deferred: report.deferred, errors: report.errors.length });
      log(
        `run ${run}: ${s(ms)}, renewed ${report.renewed.length}, deferred ${report.deferred}, recreated ${report.recreated.length}, audited ${report.audited.length} tenants, errors ${report.errors.length}${report.errors.length ? ` (first: ${report.errors[0]})` : ''}`,
      );
      if (!report.deferred && !report.renewed.length) break;
      if (!report.deferred && doneAt.size === tenants.length) break;
    }
  } finally {
    clearInterval(sampler);
  }
  sample();
  const elapsed = performance.now() - started;
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  const renewed = runs.reduce((n, r) => n + r.renewed, 0);
  log(`renewed ${renewed} of ${seeded} in ${runs.length} timer runs, errors ${errors}, 429 answers ${throttled}`);
  for (const [i, t] of tenants.entries()) {
    const at = doneAt.get(t.id);
    log(
      `tenant ${i + 1} (${t.id}): ${at === undefined ? 'not finished' : `${s(at)}, ratio ${(at / 1000 / Math.max(1, minimumS)).toFixed(3)}`} (goal ≤ 1.1)`,
    );
  }
  const longest = Math.max(...runs.map((r) => r.ms));
  const last = Math.max(...doneAt.values());
  log(
    `all tenants renewed after ${s(last)} against ${minimumS} s, ratio ${(last / 1000 / Math.max(1, minimumS)).toFixed(3)}; the runs took ${s(elapsed)} in all (the last one finds nothing left)`,
  );
  log(
    `longest timer run ${s(longest)} (goal ≤ 600 s); peak RSS ${mib(peakRss)}, peak heap ${mib(peakHeap)} (graph-sim in the same process)`,
  );
  await app.close();
} finally {
  await sim.stop();
  await postgres?.stop();
}
