import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createAppFromEnv,
  FileDocumentStore,
  runRenewal,
  silentLogger,
  type DocumentStore,
  type Graph2Kafka,
} from '@graph2kafka/core';
import { Budget } from '../src/model/budget.ts';
import { pendingId } from '../src/subscriptions/pending-marker.ts';
import { GraphSim } from '@graph2kafka/graph-sim';
import { freePort, pipelineEnv, TopicReader, type PipelineEnv } from '@graph2kafka/testkit';
import { serveApp } from '@graph2kafka/core/http';

interface Harness {
  sim: GraphSim;
  app: Graph2Kafka;
  setup: PipelineEnv;
  reader: TopicReader;
  users: string[];
  stop(): Promise<void>;
}

/** graph-sim, the app with its subscription manager on, its receiver on loopback, and a reader of the topic. */
async function harness(
  simOptions: Parameters<typeof GraphSim.start>[0] = {},
  usersWanted = 2,
  extraEnv: (sim: GraphSim) => Record<string, string> = () => ({}),
  /** The state store to use instead of the file store the environment names (its folder given). */
  documents?: (dir: string) => DocumentStore,
): Promise<Harness> {
  const sim = await GraphSim.start({ delivery: { batchWindowMs: 20, retryBaseDelayMs: 500 }, ...simOptions });
  const port = await freePort();
  const users = sim.defaults.users.slice(0, usersWanted).map((u) => u.id);
  const setup = pipelineEnv(sim, {
    G2K_NOTIFICATION_URL: `http://127.0.0.1:${port}/notifications`,
    G2K_LIFECYCLE_URL: `http://127.0.0.1:${port}/lifecycle`,
    G2K_SUBSCRIBE_USERS: users.join(','),
    G2K_TIME_BUDGET_MS: '2800',
    ...extraEnv(sim),
  });
  const app = await createAppFromEnv(setup.env, [], {
    logger: silentLogger,
    graphNow: () => sim.clock.now(),
    ...(documents ? { documents: documents(setup.env.G2K_STATE_STORE!.replace(/^file:/, '')) } : {}),
  });
  const server = await serveApp(app, port);
  const reader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), setup.topic);
  return {
    sim,
    app,
    setup,
    reader,
    users,
    async stop() {
      await reader.stop();
      await server.close();
      await app.close();
      await sim.stop();
    },
  };
}

const reauthorizeCalls = (sim: GraphSim) =>
  sim.records.requests.all().filter((r) => r.method === 'POST' && r.path.endsWith('/reauthorize'));

describe('subscription manager against graph-sim', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('defers what a run’s deadline leaves to the next run, which takes it first', async () => {
    h = await harness();
    const late = await h.app.manager!.reconcile(undefined, Date.now() - 1);
    expect(late).toMatchObject({ created: [], deleted: [], deferred: 2, errors: [] });
    expect(h.sim.subscriptions.all()).toHaveLength(0);
    const next = await h.app.manager!.reconcile();
    expect(next).toMatchObject({ deferred: 0, errors: [] });
    expect(next.created).toHaveLength(2);
  });

  it('spreads expirations over a tenth of the lifetime beyond the renewal margin, so they do not come due together', async () => {
    h = await harness({ extraUsersPerTenant: 40 }, 0, (sim) => ({
      G2K_SUBSCRIBE_USERS: sim.directory
        .listUsers(sim.defaults.tenantId)
        .slice(0, 40)
        .map((u) => u.id)
        .join(','),
    }));
    const created = (await h.app.manager!.reconcile()).created;
    expect(created).toHaveLength(40);
    const minutes = h.sim.subscriptions.all().map((s) => Math.round((s.expirationMs - h.sim.clock.now()) / 60_000));
    // G2K_SUBSCRIPTION_MINUTES 10000, renewal margin 2880: each within the last 712 minutes of the lifetime.
    expect(Math.max(...minutes)).toBeLessThanOrEqual(10_000);
    expect(Math.min(...minutes)).toBeGreaterThanOrEqual(10_000 - 712 - 1);
    expect(new Set(minutes.map((m) => Math.floor(m / 60))).size).toBeGreaterThan(5);
  });

  it('creates one subscription per mailbox with a lifecycle URL, immutable ids and its own secret', async () => {
    h = await harness();
    const report = await h.app.manager!.reconcile();
    expect(report.created).toHaveLength(2);
    const subs = h.sim.subscriptions.all();
    expect(subs.map((s) => s.userId).sort()).toEqual([...h.users].sort());
    expect(subs.every((s) => s.immutableIds && s.lifecycleNotificationUrl?.endsWith('/lifecycle'))).toBe(true);
    const stored = await h.app.subscriptions.list();
    const records = stored.filter((r) => !r.pending);
    expect(new Set(records.map((r) => r.clientState)).size).toBe(2);
    expect(records.map((r) => r.id).sort()).toEqual(subs.map((s) => s.id).sort());
    // Each create wrote its pending marker first (keyed by its secret), for notifications that beat the record.
    expect(
      stored
        .filter((r) => r.pending)
        .map((r) => r.id)
        .sort(),
    ).toEqual(records.map((r) => pendingId(r.clientState)).sort());
    // Once its create returned, a marker is matched for half a minute at most (then made-up ids are unknown).
    for (const m of stored.filter((r) => r.pending))
      expect(Date.parse(m.pendingUntil!) - Date.now()).toBeLessThanOrEqual(30_000);
    // Nothing to do a second time; that run clears the markers of the first.
    expect(await h.app.manager!.reconcile()).toMatchObject({ created: [], renewed: [], deleted: [], unchanged: 2 });
    expect((await h.app.subscriptions.list()).map((r) => r.id).sort()).toEqual(subs.map((s) => s.id).sort());
  });

  it('two overlapping runs create no duplicates', async () => {
    h = await harness();
    await Promise.all([h.app.manager!.reconcile(), h.app.manager!.reconcile()]);
    expect(h.sim.subscriptions.all()).toHaveLength(2);
    const stored = (await h.app.subscriptions.list()).filter((r) => !r.pending);
    expect(stored.map((r) => r.id).sort()).toEqual(
      h.sim.subscriptions
        .all()
        .map((s) => s.id)
        .sort(),
    );
  });

  it('keeps every subscription alive through a simulated week with the timer every 6 hours', async () => {
    // MSAL caches tokens by real time while the simulated week runs ahead: give tokens a lifetime past the week.
    h = await harness({
      subscriptions: { authorizationMinutes: 24 * 60 },
      tokenLifetimeMinutes: { min: 20_000, max: 20_000 },
    });
    await h.app.manager!.reconcile();
    const first = h.sim.subscriptions
      .all()
      .map((s) => s.id)
      .sort();
    for (let hour = 6; hour <= 7 * 24; hour += 6) {
      h.sim.clock.advance(6 * 3_600_000);
      await h.app.manager!.reconcile();
      await h.sim.settled(20_000);
      expect(h.sim.subscriptions.all()).toHaveLength(2);
    }
    expect(
      h.sim.subscriptions
        .all()
        .map((s) => s.id)
        .sort(),
    ).toEqual(first);
    expect(h.sim.records.warnings.all().filter((w) => w.code === 'SubscriptionExpired')).toEqual([]);
    h.sim.createEvent(h.users[0]!, { subject: 'a week later' });
    await h.sim.settled();
    const [record] = await h.reader.waitFor(1);
    expect(JSON.parse(record!.value!)).toMatchObject({ source: 'notification', event: { subject: 'a week later' } });
  }, 120_000);

  it('brings back a subscription Graph dropped, and the changes made in the gap reach Kafka by delta', async () => {
    h = await harness();
    await h.app.manager!.reconcile();
    const [user] = h.users;
    const dropped = h.sim.subscriptions.all().find((s) => s.userId === user)!;
    h.sim.removeSubscription(dropped.id);
    const gap = [
      h.sim.createEvent(user!, { subject: 'in the gap 1' }),
      h.sim.createEvent(user!, { subject: 'in the gap 2' }),
    ];
    const report = await h.app.manager!.reconcile();
    expect(report.recreated).toHaveLength(1);
    expect(report.resynced).toEqual([user]);
    expect(h.sim.subscriptions.all().filter((s) => s.userId === user)).toHaveLength(1);
    const records = await h.reader.waitFor(2);
    expect(records.map((r) => [r.headers['g2k-source'], JSON.parse(r.value!).event.subject]).sort()).toEqual([
      ['resync', 'in the gap 1'],
      ['resync', 'in the gap 2'],
    ]);
    expect(records.every((r) => gap.some((e) => r.key!.endsWith(e.immutableId)))).toBe(true);
  });

  it('the audit deletes a live subscription whose secret is not held, keeps the stored one, and resyncs its mailbox', async () => {
    h = await harness();
    await h.app.manager!.reconcile();
    const [user] = h.users;
    const kept = h.sim.subscriptions.all().find((s) => s.userId === user)!;
    // One on our URL and resource that no record knows (a store restored from an old backup, say).
    const [orphan] = h.sim.seedSubscriptions({
      userIds: [user!],
      notificationUrl: h.setup.env.G2K_NOTIFICATION_URL!,
      expiresInMinutes: 600,
    });
    const gap = h.sim.createEvent(user!, { subject: 'told to the orphan only' });
    // Past the age at which the first run's pending markers stop counting as creates under way.
    h.sim.clock.advance(11 * 60_000);
    const report = await h.app.manager!.reconcile();
    expect(report.audited).toEqual([h.sim.defaults.tenantId]);
    expect(report.deleted).toEqual([orphan!.id]);
    expect(report.resynced).toEqual([user]);
    expect(
      h.sim.subscriptions
        .all()
        .filter((s) => s.userId === user)
        .map((s) => s.id),
    ).toEqual([kept.id]);
    const match = await h.reader.waitForMatch((r) => r.key!.endsWith(gap.immutableId));
    expect(match.headers['g2k-source']).toBe('resync');
  });

  it('audits Graph’s list in a rotation: with time for one tenant’s list, the next half hour starts at another', async () => {
    h = await harness({}, 1, (sim) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'g2k-audit-'));
      const file = path.join(dir, 'subscriptions.json');
      const other = sim.options.tenants.find((t) => t.id !== sim.defaults.tenantId)!;
      const fabrikam = { tenantId: other.id, id: other.users[0]!.id };
      writeFileSync(
        file,
        JSON.stringify({
          subscriptions: [
            { tenant: sim.defaults.tenantId, kind: 'events', users: [sim.defaults.users[0]!.id] },
            { tenant: fabrikam.tenantId, kind: 'events', users: [fabrikam.id] },
          ],
        }),
      );
      return { G2K_SUBSCRIPTIONS_FILE: file, G2K_SUBSCRIBE_USERS: '' };
    });
    const first = await h.app.manager!.reconcile();
    expect(first).toMatchObject({ errors: [] });
    expect(first.created).toHaveLength(2);
    expect(first.audited).toHaveLength(2);
    // A deadline 0.6 s away leaves a list budget of 0.48 s: less than one tenant's page costs (0.8 s at its list quota).
    const audited: string[] = [];
    for (let slot = 0; slot < 2; slot++) {
      const report = await h.app.manager!.reconcile(undefined, Date.now() + 600);
      expect(report).toMatchObject({ errors: [], deferred: 0 });
      expect(report.audited).toHaveLength(1);
      audited.push(report.audited[0]!);
      h.sim.clock.advance(30 * 60_000);
    }
    expect(new Set(audited).size).toBe(2);
  });

  it('answers `missed` with a resync that brings every changed event to Kafka', async () => {
    h = await harness();
    await h.app.manager!.reconcile();
    const [user] = h.users;
    h.sim.setFaults({ deliveryDropRate: 1 });
    const changed = [h.sim.createEvent(user!, { subject: 'lost 1' }), h.sim.createEvent(user!, { subject: 'lost 2' })];
    await h.sim.settled();
    h.sim.setFaults({ deliveryDropRate: 0 });
    // graph-sim followed the drops with a `missed` lifecycle notification; the function resynced.
    expect(h.sim.notifications({ kind: 'lifecycle', state: 'delivered' }).map((n) => n.lifecycleEvent)).toContain(
      'missed',
    );
    const records = await h.reader.waitFor(2);
    expect(records.map((r) => r.key).sort()).toEqual(
      changed.map((e) => `${h.sim.defaults.tenantId}/${user}/${e.immutableId}`).sort(),
    );
    expect(records.every((r) => r.headers['g2k-source'] === 'resync')).toBe(true);
  });

  it('runs one resync for a burst of `missed` (forged or not); the rest is one round the timer owes', async () => {
    h = await harness();
    await h.app.manager!.reconcile();
    const [user] = h.users;
    const sub = h.sim.subscriptions.all().find((s) => s.userId === user)!;
    const rounds = () =>
      h.sim.records.requests
        .all()
        .filter((r) => r.path.includes(`/users/${user}/calendarView/delta`) && !r.path.includes('token=')).length;
    const before = rounds();
    for (let i = 0; i < 8; i++) {
      h.sim.lifecycle(sub.id, 'missed');
      await h.sim.settled();
      await h.app.idle();
    }
    expect(rounds() - before).toBe(1);
    const later = h.sim.createEvent(user!, { subject: 'changed while missed were coming' });
    const key = `${h.sim.defaults.tenantId}/${user}/${later.immutableId}`;
    await h.reader.waitForMatch((r) => r.key === key);
    h.sim.setFaults({ deliveryDropRate: 1 });
    h.sim.updateEvent(user!, later.id, { subject: 'the last edit, dropped' });
    await h.sim.settled();
    h.sim.setFaults({ deliveryDropRate: 0 });
    // The timer's run does the owed round once, and it brings what the dropped notification carried.
    await h.app.manager!.reconcile();
    expect(rounds() - before).toBe(2);
    const last = await h.reader.waitForMatch(
      (r) => r.key === key && r.value !== null && JSON.parse(r.value).event?.subject === 'the last edit, dropped',
    );
    expect(last.headers['g2k-source']).toBe('resync');
    // Past the window, a `missed` runs its resync at once again.
    h.sim.clock.advance(11 * 60_000);
    h.sim.lifecycle(sub.id, 'missed');
    await h.sim.settled();
    await h.app.idle();
    expect(rounds() - before).toBe(3);
  });

  it('answers reauthorizationRequired with exactly one reauthorize call', async () => {
    h = await harness();
    await h.app.manager!.reconcile();
    const sub = h.sim.subscriptions.all()[0]!;
    h.sim.clock.advance(11 * 60_000);
    h.sim.lifecycle(sub.id, 'reauthorizationRequired');
    await h.sim.settled();
    await h.app.idle();
    expect(reauthorizeCalls(h.sim)).toHaveLength(1);
    expect(h.sim.records.warnings.all().filter((w) => w.code === 'ReauthorizeAndPatchWithin10Minutes')).toEqual([]);
  });

  it('records a lifecycle action before answering and performs it after; a failed one waits for the timer', async () => {
    h = await harness();
    await h.app.manager!.reconcile();
    const subs = h.sim.subscriptions.all();
    h.sim.clock.advance(11 * 60_000);
    const { clientId, tenantId } = h.sim.defaults;
    const answered = () => h.sim.records.attempts.all().filter((a) => a.kind === 'lifecycle' && a.status === 202);
    // An admin revokes consent: Graph sends reauthorizationRequired for each subscription and refuses the
    // reauthorize until consent is back. Graph was answered 202 each time: the action was recorded, not lost.
    h.sim.revokeConsent(clientId, tenantId);
    await h.sim.settled();
    expect(answered().flatMap((a) => a.notificationIds)).toHaveLength(subs.length);
    await h.app.idle();
    expect(reauthorizeCalls(h.sim).filter((r) => r.status === 204)).toEqual([]);
    const owed = await h.app.manager!.lifecycle.owed(10);
    expect(owed.map((o) => o.subscriptionId).sort()).toEqual(subs.map((s) => s.id).sort());
    expect(owed.every((o) => o.event === 'reauthorizationRequired' && o.attempts >= 1)).toBe(true);
    // The same event again (a redelivery, a replay) adds no second action: one per subscription and event.
    const record = (await h.app.subscriptions.get(subs[0]!.id))!;
    await h.app.manager!.lifecycle.record(
      {
        subscriptionId: record.id,
        tenantId,
        clientState: record.clientState,
        lifecycleEvent: 'reauthorizationRequired',
        subscriptionExpirationDateTime: undefined,
      },
      record,
      Date.now() + 2_000,
    );
    await h.app.idle();
    expect(await h.app.manager!.lifecycle.owed(10)).toHaveLength(subs.length);
    // Consent back: the timer's run performs what is owed.
    h.sim.grantConsent(clientId, tenantId);
    const report = await runRenewal(h.app);
    expect(report.tasks.lifecycle).toMatchObject({ done: subs.length, failed: 0, left: 0 });
    expect(reauthorizeCalls(h.sim).filter((r) => r.status === 204)).toHaveLength(subs.length);
    expect(await h.app.manager!.lifecycle.owed(10)).toEqual([]);
  }, 120_000);

  it('answers 503 when the state store cannot record a lifecycle action, so Graph redelivers it', async () => {
    let refuse = true;
    h = await harness(
      {},
      2,
      () => ({}),
      (dir) => {
        const store = new FileDocumentStore(dir);
        const put = store.put.bind(store);
        store.put = (collection, id, doc) =>
          refuse && collection.name === 'lifecycle'
            ? Promise.reject(new Error('the disk is full'))
            : put(collection, id, doc);
        return store;
      },
    );
    await h.app.manager!.reconcile();
    const sub = h.sim.subscriptions.all()[0]!;
    h.sim.clock.advance(11 * 60_000);
    h.sim.lifecycle(sub.id, 'reauthorizationRequired');
    await h.sim.settled(5_000).catch(() => undefined);
    const refused = h.sim.records.attempts.all().filter((a) => a.kind === 'lifecycle');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((a) => a.status === 503)).toBe(true);
    expect(reauthorizeCalls(h.sim)).toHaveLength(0);
    // Graph's redelivery finds the store working again: the action is recorded and done.
    refuse = false;
    await h.sim.settled(30_000);
    await h.app.idle();
    expect(reauthorizeCalls(h.sim)).toHaveLength(1);
    expect(await h.app.manager!.lifecycle.drain(Budget.of(10_000))).toMatchObject({ done: 0, left: 0 });
  }, 120_000);

  it('recreates on subscriptionRemoved and resyncs the mailbox', async () => {
    h = await harness();
    await h.app.manager!.reconcile();
    const [user] = h.users;
    const old = h.sim.subscriptions.all().find((s) => s.userId === user)!;
    h.sim.lifecycle(old.id, 'subscriptionRemoved');
    await h.sim.settled();
    await h.app.idle();
    const now = h.sim.subscriptions.all().filter((s) => s.userId === user);
    expect(now).toHaveLength(1);
    expect(now[0]!.id).not.toBe(old.id);
    expect(await h.app.subscriptions.get(old.id)).toBeUndefined();
    expect(await h.app.subscriptions.get(now[0]!.id)).toBeDefined();
  });

  it('subscribes to the members of a configured group and follows membership changes', async () => {
    let groupId = '';
    h = await harness({ extraUsersPerTenant: 3 }, 0, (sim) => {
      const members = sim.directory
        .listUsers(sim.defaults.tenantId)
        .filter((u) => u.userPrincipalName.startsWith('user-'));
      groupId = sim.addGroup(sim.defaults.tenantId, { displayName: 'Sales', members: members.map((m) => m.id) }).id;
      return { G2K_SUBSCRIBE_USERS: '', G2K_SUBSCRIBE_GROUPS: groupId };
    });
    expect((await h.app.manager!.reconcile()).created).toHaveLength(3);
    const group = h.sim.directory.groups.get(groupId)!;
    const leaver = [...group.members][0]!;
    group.members.delete(leaver);
    const report = await h.app.manager!.reconcile();
    expect(report.deleted).toHaveLength(1);
    expect(h.sim.subscriptions.all().map((s) => s.userId)).not.toContain(leaver);
    expect(h.sim.subscriptions.all()).toHaveLength(2);
  });

  it('restarts a resync from scratch when Graph answers 410 for the stored delta link', async () => {
    h = await harness();
    await h.app.manager!.reconcile();
    const [user] = h.users;
    const sub = h.sim.subscriptions.all().find((s) => s.userId === user)!;
    h.sim.setFaults({ deliveryDropRate: 1 });
    const lost = h.sim.createEvent(user!, { subject: 'after the token expired' });
    await h.sim.settled();
    h.sim.setFaults({ deliveryDropRate: 0 });
    h.sim.invalidateDeltaTokens(user!);
    const before = h.reader.records.length;
    // Past the window of the `missed` graph-sim sent after the drops (a second one within it waits for the timer).
    h.sim.clock.advance(11 * 60_000);
    h.sim.lifecycle(sub.id, 'missed');
    await h.sim.settled();
    await h.app.idle();
    const deltaCalls = h.sim.records.requests.all().filter((r) => r.path.endsWith('/calendarView/delta'));
    expect(deltaCalls.some((r) => r.status === 410)).toBe(true);
    const records = await h.reader.waitFor(before + 1);
    expect(records.some((r) => r.key!.endsWith(lost.immutableId) && r.headers['g2k-source'] === 'resync')).toBe(true);
  });
});
