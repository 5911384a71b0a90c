import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import {
  Collection,
  createAppFromEnv,
  createEncryptionCertificate,
  runRenewal,
  silentLogger,
  syncCollection,
  type Graph2Kafka,
  type RenewalReport,
} from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import {
  compareConvergence,
  materialize,
  pipelineEnv,
  richEnv,
  PrivateBroker,
  startPostgres,
  TopicReader,
  type ExpectedItem,
  type Mismatch,
} from '@graph2kafka/testkit';
import { httpHandler } from '../src/handlers.ts';

/**
 * Convergence: the product's promise to a consumer that materialises the topics (compacted: last value per key
 * wins, a null value deletes the key). Two function instances share one PostgreSQL state store behind a proxy
 * that splits, duplicates and delays Graph's POSTs; graph-sim throttles reads longer than the answer budget,
 * loses, duplicates and reorders deliveries and sends 2–3 notifications per calendar edit; the broker is
 * SIGKILLed and restarted; one subscription hears `missed`. Once the world is quiet and the timer has run,
 * every key's last record must be Graph's current item, and every item Graph no longer has must be tombstoned:
 * right after the timer, except items whose last edit Graph lost without a word (nothing but a delta round
 * can know of those), and with no exception once the anti-entropy sweep has run (an hour later). Teams runs
 * beside Outlook: one channel (basic), one chat (rich), posts, replies, edits, soft deletes and undos.
 * CI size: 40 s at 8 changes/s (G2K_CONVERGE_SECONDS, G2K_CONVERGE_RATE, G2K_CONVERGE_SEED for other runs).
 */
const SECONDS = Number(process.env.G2K_CONVERGE_SECONDS ?? 40);
const RATE = Number(process.env.G2K_CONVERGE_RATE ?? 8);
const SEED = Number(process.env.G2K_CONVERGE_SEED ?? 1);
const MAILBOXES = 3;
/** The desired state's sweep interval, and the quiet time that passes before the final timer runs. */
const SWEEP_HOURS = 1;
const QUIET_MINUTES = SWEEP_HOURS * 60 + 1;
const KINDS = ['events', 'messages', 'contacts'] as const;
type Kind = (typeof KINDS)[number];

/** Graph's delivery faults while the workload runs (graph-sim FaultOptions). */
const SIM_FAULTS = {
  // Retry-After longer than the answer budget: those reads go out unenriched and are repaired later.
  throttleRate: 0.2,
  unavailableRate: 0.05,
  retryAfterSeconds: 4,
  // Graph as it really delivers: 2–3 `updated` per calendar edit, duplicate POSTs, POSTs overtaken, lost ones.
  calendarEditNotifications: { min: 2, max: 3 },
  duplicateDeliveryRate: 0.1,
  duplicateDelayMs: 1_500,
  delayDeliveryRate: 0.1,
  delayDeliveryMs: 1_500,
  silentDropRate: 0.02,
};
const NO_FAULTS = {
  throttleRate: 0,
  unavailableRate: 0,
  calendarEditNotifications: { min: 1, max: 1 },
  duplicateDeliveryRate: 0,
  delayDeliveryRate: 0,
  silentDropRate: 0,
};
/** The proxy's own faults: a POST sent to both instances, and a POST held back before it is forwarded. */
const PROXY_DUPLICATE_RATE = 0.1;
const PROXY_LATE_RATE = 0.1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded PRNG, so a failing run can be repeated with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

/**
 * The one URL Graph knows: forwards each request to instance A or B (seeded), answering with that instance's
 * answer. With faults on, a change POST is sometimes also sent to the other instance (its answer ignored), or
 * held 1–2 s before it is forwarded at all.
 */
async function startProxy(seed: number) {
  const rand = prng(seed);
  const state = {
    targets: [] as string[],
    faults: false,
    stats: { requests: 0, toA: 0, toB: 0, duplicated: 0, late: 0, failed: 0, statuses: {} as Record<number, number> },
    inflight: new Set<Promise<unknown>>(),
  };
  const track = <T>(p: Promise<T>): Promise<T> => {
    state.inflight.add(p);
    const done = () => state.inflight.delete(p);
    p.then(done, done);
    return p;
  };
  const forward = async (target: string, req: IncomingMessage, body: Buffer) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const res = await fetch(new URL(req.url ?? '/', target), {
      method: req.method,
      headers,
      ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
  };
  const server = createServer((req, res) => {
    void track(
      (async () => {
        const body = await readBody(req);
        state.stats.requests++;
        const change = req.method === 'POST' && !(req.url ?? '').includes('validationToken');
        const first = rand() < 0.5 ? 0 : 1;
        if (first === 0) state.stats.toA++;
        else state.stats.toB++;
        if (change && state.faults && rand() < PROXY_DUPLICATE_RATE) {
          state.stats.duplicated++;
          const delay = Math.floor(rand() * 200);
          void track(
            sleep(delay)
              .then(() => forward(state.targets[1 - first]!, req, body))
              .catch(() => undefined),
          );
        }
        if (change && state.faults && rand() < PROXY_LATE_RATE) {
          state.stats.late++;
          await sleep(1_000 + Math.floor(rand() * 1_000));
        }
        try {
          const answer = await forward(state.targets[first]!, req, body);
          state.stats.statuses[answer.status] = (state.stats.statuses[answer.status] ?? 0) + 1;
          res.writeHead(answer.status, answer.type ? { 'Content-Type': answer.type } : {});
          res.end(answer.body);
        } catch (err) {
          state.stats.failed++;
          res.writeHead(502, { 'Content-Type': 'text/plain' });
          res.end(String(err));
        }
      })().catch(() => undefined),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    /** Waits until every forward the proxy started (duplicates and held POSTs too) has ended. */
    async idle(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (state.inflight.size && Date.now() < deadline) await Promise.race([...state.inflight, sleep(200)]);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

let fnSeq = 0;
/** One function instance: its app behind its own functions-framework test server. */
async function startInstance(env: Record<string, string>): Promise<{ app: Graph2Kafka; url: string; server: Server }> {
  const app = await createAppFromEnv(env, [], { logger: silentLogger });
  const name = `converge${process.pid}x${fnSeq++}`;
  http(
    name,
    httpHandler(() => Promise.resolve(app)),
  );
  const server = getTestServer(name);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { app, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

it(`converges: every key ends as Graph's item or a tombstone (${SECONDS} s at ${RATE} changes/s, seed ${SEED})`, async () => {
  const sim = await GraphSim.start({
    seed: SEED,
    extraUsersPerTenant: MAILBOXES,
    delivery: {
      batchWindowMs: 20,
      concurrencyPerUrl: 16,
      // Graph's retry schedule and endpoint states scaled down, so a run settles in a minute or two.
      retryBaseDelayMs: 1_000,
      retryMaxDelayMs: 4_000,
      slowDelayMs: 5_000,
      dropForMs: 5_000,
    },
  });
  const broker = await PrivateBroker.start();
  const postgres = await startPostgres();
  const proxy = await startProxy(SEED + 1);
  const instances: Array<{ app: Graph2Kafka; url: string; server: Server }> = [];
  const readers: TopicReader[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    const tenantId = sim.defaults.tenantId;
    const users = sim.directory
      .listUsers(tenantId)
      .filter((u) => u.userPrincipalName.startsWith('user-'))
      .slice(0, MAILBOXES);
    // Teams: one channel (basic: read on every change) and one chat (rich: the message inside the notification).
    const teamId = sim.addTeam(tenantId, { displayName: 'Converge' }).id;
    const channelId = sim.addChannel(teamId, { displayName: 'General' }).id;
    const chatId = String(sim.addChat(tenantId, { chatType: 'group', topic: 'Converge' }).id);
    const desired = join(tmpdir(), `g2k-converge-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      desired,
      JSON.stringify({
        subscriptions: [
          ...KINDS.map((kind) => ({ kind, users: users.map((u) => u.id), sweepHours: SWEEP_HOURS })),
          { kind: 'channelMessages', channels: [`${teamId}/${channelId}`], sweepHours: SWEEP_HOURS },
          { kind: 'chatMessages', chats: [chatId], mode: 'rich', sweepHours: SWEEP_HOURS },
        ],
      }),
    );
    // One configuration for both instances: same topics, same PostgreSQL state store, Graph's URLs the proxy's.
    const setup = pipelineEnv(sim, {
      KAFKA_BROKERS: broker.brokers.join(','),
      G2K_STATE_STORE: 'postgres',
      G2K_POSTGRES_URL: postgres.url,
      G2K_NOTIFICATION_URL: proxy.url,
      G2K_LIFECYCLE_URL: `${proxy.url}lifecycle`,
      G2K_SUBSCRIPTIONS_FILE: desired,
      ...richEnv(sim, await createEncryptionCertificate('g2k-converge')),
    });
    const topics = [
      setup.topics.events,
      setup.topics.messages,
      setup.topics.contacts,
      setup.topics.channelMessages,
      setup.topics.chatMessages,
    ];
    // The topics created up front with 3 partitions, as a user would (a reader creates them so), so that keys
    // spread over partitions as they do in production.
    for (const topic of topics) await (await TopicReader.start(broker.brokers, topic)).stop();
    instances.push(await startInstance(setup.env), await startInstance(setup.env));
    const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
    proxy.state.targets = [a.url, b.url];

    // The first timer run creates the 11 subscriptions (graph-sim's handshake goes through the proxy).
    const first = await runRenewal(a.app);
    expect(first.errors).toEqual([]);
    const subs = users.flatMap((u) => sim.subscriptions.forMailbox(u.id));
    expect(subs).toHaveLength(MAILBOXES * KINDS.length);
    expect(
      sim.subscriptions.all().filter((x) => x.kind === 'channelMessages' || x.kind === 'chatMessages'),
    ).toHaveLength(2);

    // ---- faults on ----
    sim.setFaults(SIM_FAULTS);
    proxy.state.faults = true;
    const ms = SECONDS * 1000;
    const started = Date.now();
    let brokerEvents: Promise<void> = Promise.resolve();
    const brokerLog: string[] = [];
    // The broker SIGKILLed early and started again 2 s later (its JVM takes ~10 s more on a small machine), so
    // most of the workload meets a broker that is back, with the Graph faults still on.
    timers.push(
      setTimeout(() => {
        brokerEvents = brokerEvents.then(async () => {
          await broker.kill();
          brokerLog.push(`killed at ${((Date.now() - started) / 1000).toFixed(1)} s`);
          await sleep(2_000);
          await broker.restart();
          brokerLog.push(`back at ${((Date.now() - started) / 1000).toFixed(1)} s`);
        });
      }, ms * 0.1),
    );
    const missedSub = sim.subscriptions.forMailbox(users[1]!.id).find((s) => s.kind === 'messages')!;
    timers.push(setTimeout(() => sim.lifecycle(missedSub.id, 'missed'), ms * 0.6));

    // ---- the workload: creates, bursts of updates, deletes, delete-then-recreate over the 9 targets ----
    const rand = prng(SEED);
    const targets = users.flatMap((u) => KINDS.map((kind) => ({ userId: u.id, kind, live: [] as string[] })));
    const ops = { create: 0, update: 0, burst: 0, delete: 0, recreate: 0, teams: 0 };
    let changes = 0;
    const create = (t: (typeof targets)[0]): string => {
      const n = changes++;
      ops.create++;
      const id =
        t.kind === 'events'
          ? sim.createEvent(t.userId, { subject: `converge ${n}` }).id
          : t.kind === 'messages'
            ? sim.createItem('messages', t.userId, { subject: `converge ${n}` }).id
            : sim.createItem('contacts', t.userId, { givenName: 'Converge', surname: `c${n}` }).id;
      t.live.push(id);
      return id;
    };
    const update = (t: (typeof targets)[0], id: string): void => {
      const n = changes++;
      ops.update++;
      if (t.kind === 'events') sim.updateEvent(t.userId, id, { subject: `converge ${n} (updated)` });
      else if (t.kind === 'messages') sim.updateItem('messages', t.userId, id, { subject: `converge ${n} (updated)` });
      else sim.updateItem('contacts', t.userId, id, { surname: `c${n}u` });
    };
    const remove = (t: (typeof targets)[0], id: string): void => {
      changes++;
      ops.delete++;
      t.live.splice(t.live.indexOf(id), 1);
      if (t.kind === 'events') sim.deleteEvent(t.userId, id);
      else sim.deleteItem(t.kind, t.userId, id);
    };
    const pick = (t: (typeof targets)[0]) => t.live[Math.floor(rand() * t.live.length)]!;
    const teams = new TeamsWorkload(sim, { teamId, channelId, chatId }, rand);
    while (Date.now() - started < ms) {
      // One step in four is a Teams user's: a post, a reply, an edit, a soft delete or its undo.
      if (rand() < 1 / 4) {
        teams.step(ops);
        changes++;
        const wait = started + (changes * 1000) / RATE - Date.now();
        if (wait > 0) await sleep(wait);
        continue;
      }
      const t = targets[Math.floor(rand() * targets.length)]!;
      const roll = rand();
      if (t.live.length < 2 || roll < 0.35) create(t);
      else if (roll < 0.55) {
        // A burst: several PATCHes to one item within ~100 ms.
        ops.burst++;
        const id = pick(t);
        const count = 3 + Math.floor(rand() * 3);
        for (let i = 0; i < count; i++) {
          if (i) await sleep(20 + Math.floor(rand() * 10));
          update(t, id);
        }
      } else if (roll < 0.7) update(t, pick(t));
      else if (roll < 0.85) remove(t, pick(t));
      else {
        // Outlook has no undelete: a recreate is a new item (new id) with the old one's content.
        ops.recreate++;
        remove(t, pick(t));
        create(t);
      }
      // Paced by changes, so bursts count towards the rate.
      const wait = started + (changes * 1000) / RATE - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const workloadSeconds = (Date.now() - started) / 1000;

    // ---- settle: faults off, Graph's queue drained ----
    for (const t of timers) clearTimeout(t);
    // The broker's restart (a JVM on a small machine) can outlast the workload: Graph's redeliveries after it
    // still meet the faults until it is back.
    await brokerEvents;
    sim.setFaults(NO_FAULTS);
    proxy.state.faults = false;
    const settleStarted = Date.now();
    await sim.settled(300_000);
    await proxy.idle();

    for (const topic of topics) readers.push(await TopicReader.start(broker.brokers, topic));
    /** Every record of the three topics, read until nothing more arrives (background repairs included). */
    const readQuiet = async () => {
      let seen = -1;
      for (let round = 0; round < 30; round++) {
        for (const r of readers) await r.readToEnd();
        const total = readers.reduce((n, r) => n + r.records.length, 0);
        if (total === seen) return total;
        seen = total;
        await sleep(2_000);
      }
      return seen;
    };
    const timerRuns: Array<{ on: string; report: RenewalReport }> = [];
    const timerRun = async (on: string, inst: (typeof instances)[0]) => {
      timerRuns.push({ on, report: await runRenewal(inst.app) });
      await sim.settled(120_000);
      await proxy.idle();
    };
    const keyOf = (kind: Kind, userId: string, id: string) =>
      `${tenantId.toLowerCase()}/${userId.toLowerCase()}/${kind === 'events' ? '' : `${kind}/`}${id}`;
    // Graph's items now (nothing changes them any more), under graph2kafka's record keys.
    const expected: ExpectedItem[] = [
      ...users.flatMap((u) => [
        ...sim.listEvents(u.id).map((e) => ({ key: keyOf('events', u.id, e.immutableId), item: e.event })),
        ...sim.listItems('messages', u.id).map((m) => ({ key: keyOf('messages', u.id, m.immutableId), item: m.item })),
        ...sim.listItems('contacts', u.id).map((c) => ({ key: keyOf('contacts', u.id, c.immutableId), item: c.item })),
      ]),
      ...teamsExpected(sim, tenantId, { teamId, channelId, chatId }),
    ];
    const check = () => {
      const materialized = readers.map((r, i) => materialize(r.records, topics[i]));
      return { materialized, report: compareConvergence(materialized, expected) };
    };

    // ---- checkpoint 1: the timer as it runs any time (twice on A, once on B; no sweep is due yet) ----
    await timerRun('A', a);
    await timerRun('A', a);
    await timerRun('B', b);
    const liveRecords = await readQuiet();
    const live = check();

    // ---- checkpoint 2: an hour later, the anti-entropy sweep ----
    // Notifications Graph lost without a word (silentDropRate) are the sweep's, due per target once its last
    // delta round is sweepHours old. As snapshot-sweep.test.ts does, every target's last round is moved back past
    // that, so the next timer run sweeps them all.
    let rewound = 0;
    for (const sync of await new Collection(a.app.documents, syncCollection).list())
      if (!sync.scope) {
        await new Collection(a.app.documents, syncCollection).put({
          ...sync,
          updatedAt: new Date(Date.now() - QUIET_MINUTES * 60_000).toISOString(),
        });
        rewound++;
      }
    await timerRun('A (sweep)', a);
    await timerRun('B (sweep)', b);
    const totalRecords = await readQuiet();
    const swept = check();
    const settleSeconds = (Date.now() - settleStarted) / 1000;

    // The comparison is not vacuous: Graph's state bent two ways (an item changed, an item replaced by one
    // never produced) is told apart from the topics, using two keys that did converge.
    const flagged = new Set(
      [...swept.report.missing, ...swept.report.stale, ...swept.report.unenriched].map((m) => m.key),
    );
    const [bent, replaced] = expected.filter((e) => !flagged.has(e.key));
    if (bent && replaced) {
      const probe = compareConvergence(swept.materialized, [
        ...expected.filter((e) => e !== bent && e !== replaced),
        { key: bent.key, item: { ...bent.item, changeKey: 'not-in-the-topic' } },
        { key: `${replaced.key}-never-produced`, item: replaced.item },
      ]);
      expect([probe.stale.length, probe.missing.length, probe.extra.length]).toEqual([
        swept.report.stale.length + 1,
        swept.report.missing.length + 1,
        swept.report.extra.length + 1,
      ]);
    }

    // Before the sweep, only an item whose last change Graph lost without `missed` may differ: every
    // notification of its last edit was dropped silently, so nothing but a delta round can know of it.
    const notifications = sim.notifications({ kind: 'change' });
    const byItem = new Map<string, typeof notifications>();
    for (const n of notifications) {
      // `Users/{id}/Events/{id}`, or Teams' `…/messages('{id}')/replies('{id}')`: the item's own id, last.
      const id = (n.resource?.split('/').pop() ?? '').replace(/^[A-Za-z]+\('([^']*)'\)$/, '$1');
      byItem.set(id, [...(byItem.get(id) ?? []), n]);
    }
    const lostLast = new Set<string>();
    for (const [id, list] of byItem) {
      const last = list.at(-1)!;
      const edit = last.sameEditAs ?? last.id;
      const group = list.filter((n) => n.id === edit || n.sameEditAs === edit);
      if (group.every((n) => n.state === 'dropped' && n.droppedReason === 'silentDrop')) lostLast.add(id);
    }
    const itemOfKey = (key: string) => key.split('/').pop()!;
    const mismatches = (r: typeof live.report) => [...r.missing, ...r.extra, ...r.stale, ...r.unenriched];
    const unexcused = mismatches(live.report).filter((m) => !lostLast.has(itemOfKey(m.key)));

    const attempts = sim.records.attempts.all().filter((x) => x.kind === 'change');
    const dropped: Record<string, number> = {};
    for (const n of notifications)
      if (n.state === 'dropped') dropped[n.droppedReason ?? '?'] = (dropped[n.droppedReason ?? '?'] ?? 0) + 1;
    const missedPrefix = keyOf('messages', users[1]!.id, '');
    const runs = (list: typeof timerRuns) =>
      list
        .map(
          ({ on, report: t }) =>
            `${on} repaired ${t.tasks.repair?.repaired} gone ${t.tasks.repair?.gone} left ${t.tasks.repair?.left} swept ${t.swept} resynced ${t.resynced.length} errors ${t.errors.length}`,
        )
        .join(' | ');
    const lines = [
      `workload ${workloadSeconds.toFixed(1)} s, settle+timers+reads ${settleSeconds.toFixed(1)} s; ${changes} changes (${JSON.stringify(ops)})`,
      `graph: ${notifications.length} change notifications (${notifications.filter((n) => n.duplicateDeliveredAt).length} delivered twice, dropped ${JSON.stringify(dropped)}; ${lostLast.size} items' last edit lost silently), ${attempts.length} POST attempts (${attempts.filter((x) => x.status === 503).length} answered 503), missed sent for ${missedSub.id} (messages of ${users[1]!.id})`,
      `proxy: ${JSON.stringify(proxy.state.stats)}; broker ${brokerLog.join(', ')}`,
      `graph holds ${expected.length} items; the topics ${live.report.keys} keys`,
      `-- checkpoint 1, after settle and the timer (no sweep due): ${runs(timerRuns.slice(0, 3))}`,
      `   ${liveRecords} records (${(liveRecords / Math.max(1, changes)).toFixed(2)} per change); duplicates: ${live.report.duplicates.exact} byte-identical consecutive, ${live.report.duplicates.sameState} same item state consecutive`,
      ...live.report.lines.map((l) => `   ${l}`),
      `   of these, not explained by a silently lost last edit: ${unexcused.length}${
        unexcused.length
          ? ` — e.g. ${unexcused
              .slice(0, 5)
              .map((m) => m.key)
              .join(', ')}`
          : ''
      }; in the target that heard missed: ${mismatches(live.report).filter((m) => m.key.startsWith(missedPrefix)).length}`,
      `-- checkpoint 2, after ${rewound} targets' last delta round moved back ${QUIET_MINUTES} min: ${runs(timerRuns.slice(3))}`,
      `   ${totalRecords} records (${totalRecords - liveRecords} more); duplicates: ${swept.report.duplicates.exact} byte-identical consecutive, ${swept.report.duplicates.sameState} same item state consecutive`,
      ...swept.report.lines.map((l) => `   ${l}`),
      `   Teams: ${JSON.stringify(teams.counts)}`,
    ];
    console.log(lines.map((l) => `[converge] ${l}`).join('\n'));

    const first10 = (list: Mismatch[]) => list.slice(0, 10).map((m) => `${m.key} [${m.detail}]`);
    expect({
      beforeSweep: { unexplained: unexcused.length, first: first10(unexcused) },
      afterSweep: {
        missing: { count: swept.report.missing.length, first: first10(swept.report.missing) },
        extra: {
          count: swept.report.extra.length,
          gone: swept.report.extraGone.length,
          first: first10(swept.report.extra),
        },
        stale: { count: swept.report.stale.length, first: first10(swept.report.stale) },
        unenriched: { count: swept.report.unenriched.length, first: first10(swept.report.unenriched) },
      },
      timerErrors: timerRuns.flatMap((t) => t.report.errors),
    }).toEqual({
      beforeSweep: { unexplained: 0, first: [] },
      afterSweep: {
        missing: { count: 0, first: [] },
        extra: { count: 0, gone: 0, first: [] },
        stale: { count: 0, first: [] },
        unenriched: { count: 0, first: [] },
      },
      timerErrors: [],
    });
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const r of readers) await r.stop().catch(() => undefined);
    await proxy.close();
    for (const { server, app } of instances) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await app.close();
    }
    await broker.destroy();
    await postgres.stop();
    await sim.stop();
  }
}, 900_000);

interface TeamsPlaceIds {
  teamId: string;
  channelId: string;
  chatId: string;
}

/**
 * What Teams users do during the workload, in one channel and one chat: post, reply (channel), edit, soft
 * delete, and undo a soft delete. Purges (a retention policy's, not a user's) are left to the end-to-end tests.
 */
class TeamsWorkload {
  readonly counts = { post: 0, reply: 0, edit: 0, softDelete: 0, undo: 0 };
  private readonly live: Array<{ chat: boolean; id: string; root?: string }> = [];
  private readonly deleted: Array<{ chat: boolean; id: string; root?: string }> = [];
  private n = 0;

  private readonly sim: GraphSim;
  private readonly at: TeamsPlaceIds;
  private readonly rand: () => number;

  constructor(sim: GraphSim, at: TeamsPlaceIds, rand: () => number) {
    this.sim = sim;
    this.at = at;
    this.rand = rand;
  }

  step(ops: { teams: number }): void {
    ops.teams++;
    const roll = this.rand();
    const chat = this.rand() < 0.5;
    const body = { content: `converge teams ${this.n++}` };
    const ref = (m: { chat: boolean; id: string }) =>
      m.chat
        ? { chatId: this.at.chatId, messageId: m.id }
        : { teamId: this.at.teamId, channelId: this.at.channelId, messageId: m.id };
    const mine = this.live.filter((m) => m.chat === chat);
    if (mine.length < 2 || roll < 0.35) {
      const roots = mine.filter((m) => !m.root);
      if (!chat && roots.length && this.rand() < 0.5) {
        const root = roots[Math.floor(this.rand() * roots.length)]!;
        const id = String(this.sim.replyToChannelMessage(this.at.teamId, this.at.channelId, root.id, { body }).id);
        this.live.push({ chat, id, root: root.id });
        this.counts.reply++;
        return;
      }
      const id = String(
        chat
          ? this.sim.postChatMessage(this.at.chatId, { body }).id
          : this.sim.postChannelMessage(this.at.teamId, this.at.channelId, { body }).id,
      );
      this.live.push({ chat, id });
      this.counts.post++;
    } else if (roll < 0.75) {
      this.sim.editTeamsMessage(ref(mine[Math.floor(this.rand() * mine.length)]!), { body });
      this.counts.edit++;
    } else if (roll < 0.9) {
      const m = mine[Math.floor(this.rand() * mine.length)]!;
      this.sim.softDeleteTeamsMessage(ref(m));
      this.live.splice(this.live.indexOf(m), 1);
      this.deleted.push(m);
      this.counts.softDelete++;
    } else if (this.deleted.length) {
      const m = this.deleted.splice(Math.floor(this.rand() * this.deleted.length), 1)[0]!;
      this.sim.undoSoftDeleteTeamsMessage(ref(m));
      this.live.push(m);
      this.counts.undo++;
    }
  }
}

/** Graph's Teams messages now (soft-deleted ones too: Graph still has them), under graph2kafka's record keys. */
function teamsExpected(sim: GraphSim, tenantId: string, at: TeamsPlaceIds): ExpectedItem[] {
  const tenant = tenantId.toLowerCase();
  const state = sim.teamsState(tenantId);
  const channel = state.teams.find((t) => t.id === at.teamId)!.channels.find((c) => c.id === at.channelId)!;
  const base = `${tenant}/teams/${at.teamId.toLowerCase()}/channels/${at.channelId}/messages`;
  const chat = state.chats.find((c) => String(c.chat.id) === at.chatId)!;
  return [
    ...channel.messages.map((m) => ({ key: `${base}/${String(m.id)}`, item: m })),
    ...channel.replies.map((m) => ({ key: `${base}/${String(m.replyToId)}/replies/${String(m.id)}`, item: m })),
    ...chat.messages.map((m) => ({ key: `${tenant}/chats/${at.chatId}/messages/${String(m.id)}`, item: m })),
  ];
}
