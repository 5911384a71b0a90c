import { mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { Collection, FileDocumentStore, type SubscriptionRecord } from '@graph2kafka/core';
import { repairCollection } from '../src/repair/repair-collection.ts';
import { syncCollection } from '../src/subscriptions/sync-collection.ts';
import type { CollectionLayout, Doc } from '../src/state/document-types.ts';
import type { Logger } from '../src/logger.ts';
import { GraphSim } from '@graph2kafka/graph-sim';
import { brokersFromEnv } from '@graph2kafka/kafka-local';
import { createSubscription, TopicReader } from '@graph2kafka/testkit';
import { post, startPipeline, type Pipeline } from './served-pipeline.ts';

/** A logger that keeps what it was told, to count lines per POST. */
function capturingLogger(): Logger & { lines: Array<{ level: string; message: string; fields?: unknown }> } {
  const lines: Array<{ level: string; message: string; fields?: unknown }> = [];
  return {
    lines,
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
  };
}

/** The file store, counting the subscription reads that reach it (what the cache in front of it let through). */
class CountingStore extends FileDocumentStore {
  reads = 0;
  override get(collection: CollectionLayout, id: string): Promise<Doc | undefined> {
    if (collection.name === 'subscription') this.reads++;
    return super.get(collection, id);
  }
}

const NOTIFICATION_URL = 'http://127.0.0.1:9/notifications';

function change(sub: SubscriptionRecord, resource: string, over: Record<string, unknown> = {}) {
  return {
    id: `n-${Math.random().toString(36).slice(2)}`,
    subscriptionId: sub.id,
    subscriptionExpirationDateTime: sub.expirationDateTime,
    changeType: 'updated',
    resource,
    clientState: sub.clientState,
    tenantId: sub.tenantId,
    ...over,
  };
}

/**
 * A POST without Content-Length (chunked), which fetch never sends for a known body. Resolves with the status,
 * or 'closed' when the server closed the connection before the client could read an answer.
 */
function postChunked(url: string, chunks: Buffer[]): Promise<number | 'closed'> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? resolve('closed') : reject(err),
    );
    const write = (i: number): void => {
      if (i === chunks.length) return void req.end();
      if (req.destroyed) return;
      req.write(chunks[i], () => write(i + 1));
    };
    write(0);
  });
}

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A gzip body that inflates to `mb` MB, made in pieces so the test itself stays small. */
async function gzipBomb(mb: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const piece = Buffer.alloc(1_000_000, 0x20);
  for (let i = 0; i < mb; i++) if (!gz.write(piece)) await once(gz, 'drain');
  gz.end();
  await once(gz, 'end');
  return Buffer.concat(out);
}

describe('the webhook at the data edges: one verdict per item', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let sub: SubscriptionRecord;
  let user: string;
  let other: string;
  let logger: ReturnType<typeof capturingLogger>;
  let counting: CountingStore;
  const events: Array<{ immutableId: string }> = [];

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    [user, other] = sim.defaults.users.map((u) => u.id) as [string, string];
    // Events that exist before any subscription, so graph-sim delivers nothing by itself: the POSTs are ours.
    for (const subject of ['one', 'two', 'three', 'four']) events.push(sim.createEvent(user, { subject }));
    sim.createEvent(other, { subject: 'somebody else’s meeting' });
    logger = capturingLogger();
    counting = new CountingStore(mkdtempSync(join(tmpdir(), 'g2k-edges-')));
    pipe = await startPipeline(
      sim,
      { G2K_NOTIFICATION_URL: NOTIFICATION_URL, G2K_LIFECYCLE_URL: NOTIFICATION_URL },
      { logger, documents: counting },
    );
    sub = await createSubscription(sim, pipe.app.subscriptions, {
      userId: user,
      notificationUrl: pipe.url,
      lifecycleNotificationUrl: pipe.lifecycleUrl,
    });
  });
  afterAll(async () => {
    await pipe.stop();
    await sim.stop();
  });

  it('produces every valid item of a mixed POST once, skips the foreign ones, acts on the lifecycle item: 202', async () => {
    const lifecycleReader = await TopicReader.start(brokersFromEnv(), pipe.lifecycleTopic);
    try {
      const [e1, e2, e3, e4] = events.map((e) => e.immutableId) as [string, string, string, string];
      const tenant = sim.defaults.tenantId;
      const deltaBefore = sim.records.requests.all().filter((r) => r.path.includes('calendarView/delta')).length;
      const res = await post(
        pipe.url,
        JSON.stringify({
          value: [
            change(sub, `Users/${user}/Events/${e1}`, { resourceData: { id: e1 } }),
            change(sub, `Users('${user}')/Events('${e2}')`),
            change(sub, `users/${user}@${tenant}/events/${e3}`),
            change(sub, `/users/${user.toUpperCase()}/events('${e4}')`),
            // Another app's notification on the same URL, and a change kind we do not handle.
            {
              subscriptionId: 'a3f0e6c1-0000-4000-8000-0000000000aa',
              changeType: 'created',
              resource: `Users/${user}/Messages/AAMkmsg=`,
              clientState: 'theirs',
              tenantId: tenant,
            },
            change(sub, `Users/${user}/Events/${e1}`, { changeType: 'unknownFutureValue' }),
            { subscriptionId: sub.id, tenantId: tenant, clientState: sub.clientState, lifecycleEvent: 'missed' },
          ],
        }),
      );
      expect({ status: res.status, body: await res.text() }).toEqual({ status: 202, body: '' });
      // The missed's resync reads the same events at the same time: whichever read started later is produced
      // (the key fence), so each event is in Kafka once, from the notification or from the resync.
      const keys = [e1, e2, e3, e4].map((e) => `${tenant}/${user}/${e}`).sort();
      const fromNotifications = () =>
        pipe.reader.records.filter(
          (r) => ['notification', 'resync'].includes(r.headers['g2k-source']!) && keys.includes(r.key!),
        );
      await until('4 records', () => new Set(fromNotifications().map((r) => r.key)).size >= 4);
      await pipe.reader.readToEnd();
      expect([...new Set(fromNotifications().map((r) => r.key))].sort()).toEqual(keys);
      for (const r of fromNotifications()) expect(JSON.parse(r.value!)).toMatchObject({ enriched: true, userId: user });
      const [lifecycle] = await lifecycleReader.waitFor(1);
      expect(JSON.parse(lifecycle!.value!)).toMatchObject({ lifecycleEvent: 'missed', subscriptionId: sub.id });
      // The lifecycle item's action ran after the answer: a delta round of the subscription's mailbox.
      await pipe.app.idle();
      const delta = sim.records.requests.all().filter((r) => r.path.includes('calendarView/delta'));
      expect(delta.length).toBeGreaterThan(deltaBefore);
      expect(delta.every((r) => r.path.includes(user))).toBe(true);
      expect(pipe.app.receiver.counters.rejected).toMatchObject({
        unknown_subscription: 1,
        unsupported_change_type: 1,
      });
      // A read that lost to one whose record was not in Kafka yet is queued to be read again (the winner might
      // never have landed). Once that queue is drained (the timer's work), each key's last record is its event.
      await pipe.app.repairer.drain(Date.now() + 30_000);
      await pipe.reader.readToEnd();
      const last = new Map(pipe.reader.records.map((r) => [r.key, r]));
      for (const key of keys) expect(JSON.parse(last.get(key)!.value!)).toMatchObject({ enriched: true, userId: user });
      expect((await pipe.app.repairer.drain(Date.now() + 30_000)).left).toBe(0);
    } finally {
      await lifecycleReader.stop();
    }
  });

  it('reads and writes nothing outside the subscription’s mailbox, whatever its resource says', async () => {
    await pipe.reader.readToEnd();
    const before = pipe.reader.records.length;
    const otherEvent = sim.createEvent(other, { subject: 'target' }).immutableId;
    const foreignTenant = sim.directory.listUsers().find((u) => u.tenantId !== sim.defaults.tenantId)!.tenantId;
    const readsOfOther = () =>
      sim.records.requests.all().filter((r) => r.path.toLowerCase().includes(other.toLowerCase())).length;
    const otherReadsBefore = readsOfOther();
    const res = await post(
      pipe.url,
      JSON.stringify({
        value: [
          change(sub, `Users/${other}/Events/${otherEvent}`),
          change(sub, `Users/${other}/Events/${otherEvent}`, { changeType: 'deleted' }),
          change(sub, `Users/${user}/Events/../../../users/${other}/events/${otherEvent}`),
          change(sub, `Users/${user}/Events/x%2F..%2F..%2Fsubscriptions`),
          change(sub, `Users/${user}@${foreignTenant}/Events/${otherEvent}`),
          change(sub, `Users/adele@contoso.onmicrosoft.com/Events/${otherEvent}`),
        ],
      }),
    );
    expect(res.status).toBe(202);
    await new Promise((r) => setTimeout(r, 500));
    expect(pipe.reader.records.length).toBe(before);
    expect(readsOfOther()).toBe(otherReadsBefore);
    expect(pipe.app.receiver.counters.rejected).toMatchObject({ resource_mismatch: 4, unknown_resource: 2 });
  });

  it('writes no tombstone for a forged delete of a live event: Graph still has it', async () => {
    const live = events[0]!.immutableId;
    const key = `${sim.defaults.tenantId}/${user}/${live}`;
    await pipe.reader.readToEnd();
    const before = pipe.reader.records.length;
    const res = await post(
      pipe.url,
      JSON.stringify({ value: [change(sub, `Users/${user}/Events/${live}`, { changeType: 'deleted' })] }),
    );
    expect(res.status).toBe(202);
    const [record] = (await pipe.reader.waitFor(before + 1)).slice(before);
    expect(record!.key).toBe(key);
    expect(JSON.parse(record!.value!)).toMatchObject({
      changeType: 'deleted',
      deleteConfirmed: false,
      enriched: true,
      event: { subject: 'one' },
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(pipe.reader.records.slice(before).filter((r) => r.value === null)).toEqual([]);
  });

  it('keeps the secret and the subscription on a forged subscriptionRemoved, and does one action per POST', async () => {
    const lifecycle = (event: string) => ({
      subscriptionId: sub.id,
      tenantId: sub.tenantId,
      clientState: sub.clientState,
      lifecycleEvent: event,
    });
    const writes = () =>
      sim.records.requests.all().filter((r) => r.path.startsWith('/v1.0/subscriptions') && r.method !== 'GET').length;
    const writesBefore = writes();
    const removed = await post(pipe.url, JSON.stringify({ value: [lifecycle('subscriptionRemoved')] }));
    expect(removed.status).toBe(202);
    // The action runs after the answer: what it did is seen once the instance's background work is done.
    await pipe.app.idle();
    expect(await pipe.app.subscriptions.getFresh(sub.id)).toMatchObject({ clientState: sub.clientState });
    expect(sim.subscriptions.all().map((s) => s.id)).toEqual([sub.id]);
    expect(writes()).toBe(writesBefore);

    const reauthorizations = () => sim.records.requests.all().filter((r) => r.path.endsWith('/reauthorize')).length;
    const deltaRounds = () => sim.records.requests.all().filter((r) => r.path.includes('calendarView/delta')).length;
    const [reauthBefore, deltaBefore] = [reauthorizations(), deltaRounds()];
    const many = await post(
      pipe.url,
      JSON.stringify({
        value: [
          ...Array.from({ length: 200 }, () => lifecycle('reauthorizationRequired')),
          ...Array.from({ length: 200 }, () => lifecycle('missed')),
        ],
      }),
    );
    expect(many.status).toBe(202);
    await pipe.app.idle();
    expect(reauthorizations() - reauthBefore).toBeLessThanOrEqual(1);
    // One resync: the mailbox's delta link is one page here.
    expect(deltaRounds() - deltaBefore).toBeLessThanOrEqual(1);
  });

  it('bounds the store reads and log lines of 5,000 forged items to a few', async () => {
    const readsBefore = counting.reads;
    const linesBefore = logger.lines.length;
    const forged = Array.from({ length: 5_000 }, (_, i) => ({
      subscriptionId: `b0b0b0b0-0000-4000-8000-${String(i).padStart(12, '0')}`,
      changeType: 'created',
      resource: 'x',
      clientState: 'guess',
      tenantId: sim.defaults.tenantId,
    }));
    const res = await post(pipe.url, JSON.stringify({ value: forged }));
    expect(res.status).toBe(202);
    expect(counting.reads - readsBefore).toBeLessThanOrEqual(200);
    expect(logger.lines.length - linesBefore).toBe(1);
    expect(logger.lines.at(-1)!.fields).toMatchObject({ items: 5_000, produced: 0 });
  });

  it('asks for a redelivery when a genuine POST names more subscriptions than one POST may look up; the next one passes', async () => {
    await pipe.reader.readToEnd();
    const before = pipe.reader.records.length;
    const others = Array.from({ length: 250 }, (_, i) => ({
      subscriptionId: `d00dfeed-0000-4000-8000-${String(i).padStart(12, '0')}`,
      changeType: 'updated',
      resource: `Users/${user}/Events/AAMkother${i}=`,
      clientState: 'another-apps-secret',
      tenantId: sim.defaults.tenantId,
    }));
    const body = JSON.stringify({ value: [change(sub, `Users/${user}/Events/${events[2]!.immutableId}`), ...others] });
    const first = await post(pipe.url, body);
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('5');
    // The genuine item was produced already; the redelivery finds the other ids remembered and is accepted.
    expect((await pipe.reader.waitFor(before + 1)).slice(before).map((r) => r.key)).toEqual([
      `${sim.defaults.tenantId}/${user}/${events[2]!.immutableId}`,
    ]);
    const again = await post(pipe.url, body);
    expect(again.status).toBe(202);
  });

  it('reads at most 200 events of one POST from Graph; the rest go out unenriched and wait for repair', async () => {
    await pipe.reader.readToEnd();
    const before = pipe.reader.records.length;
    const itemReads = () =>
      sim.records.requests.all().filter((r) => r.batchId && r.path.toLowerCase().includes(`/users/${user}/events/`))
        .length;
    const readsBefore = itemReads();
    const ids = Array.from({ length: 1_000 }, (_, i) => `AAMkflood${i}=`);
    const res = await post(
      pipe.url,
      JSON.stringify({ value: ids.map((id) => change(sub, `Users/${user}/Events/${id}`, { id: undefined })) }),
    );
    expect(res.status).toBe(202);
    expect(itemReads() - readsBefore).toBe(200);
    // 200 read and found gone (each a `gone` record and its tombstone: a confirmed absence), 800 unenriched.
    const records = (await pipe.reader.waitFor(before + 1_200)).slice(before);
    const reasons = new Map<string, number>();
    for (const r of records) {
      const v = r.value === null ? null : (JSON.parse(r.value) as { gone: boolean; notEnrichedReason: string | null });
      const k = v === null ? 'tombstone' : v.gone ? 'gone' : String(v.notEnrichedReason);
      reasons.set(k, (reasons.get(k) ?? 0) + 1);
    }
    expect(Object.fromEntries(reasons)).toEqual({ gone: 200, tombstone: 200, read_limit: 800 });
    expect(
      (await new Collection(pipe.app.documents, repairCollection).list({ limit: 2_000 })).filter(
        (e) => e.reason === 'read_limit',
      ),
    ).toHaveLength(800);
  });

  it('refuses a 12 MB nested body and a gzip bomb before reading them, and the instance stays small', async () => {
    const nested = Buffer.from(`{"value":[${'['.repeat(6_000_000)}${']'.repeat(6_000_000)}]}`);
    const bomb = await gzipBomb(200);
    const slices = Array.from({ length: 12 }, (_, i) => nested.subarray(i * 1_000_000, (i + 1) * 1_000_000));
    const rssBefore = process.memoryUsage().rss;
    expect((await post(pipe.url, nested)).status).toBe(413);
    // Without Content-Length: cut off past the limit, answered 413 (or the connection closed under the client).
    expect([413, 'closed']).toContain(await postChunked(pipe.url, slices));
    const gz = await post(pipe.url, bomb, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    expect(gz.status).toBe(415);
    // Nothing was buffered or inflated: far from the 512 MiB an instance has.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    // And the instance still serves.
    const fine = await post(
      pipe.url,
      JSON.stringify({ value: [change(sub, `Users/${user}/Events/${events[1]!.immutableId}`)] }),
    );
    expect(fine.status).toBe(202);
  }, 60_000);
});

describe('the webhook with poison among its neighbours', () => {
  let sim: GraphSim;
  afterEach(async () => {
    await sim.stop();
  });

  it('produces a 1.5 MB event reduced, every neighbour once, answers no 503 for it, and resyncs its mailbox', async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 50 } });
    const pipe = await startPipeline(sim, {
      G2K_NOTIFICATION_URL: NOTIFICATION_URL,
      G2K_LIFECYCLE_URL: NOTIFICATION_URL,
    });
    try {
      const [big, small] = sim.defaults.users.map((u) => u.id) as [string, string];
      const subBig = await createSubscription(sim, pipe.app.subscriptions, {
        userId: big,
        notificationUrl: pipe.url,
        lifecycleNotificationUrl: pipe.lifecycleUrl,
      });
      await createSubscription(sim, pipe.app.subscriptions, { userId: small, notificationUrl: pipe.url });
      for (let i = 0; i < 5; i++) sim.createEvent(small, { subject: `normal ${i}` });
      const invitation = sim.createEvent(big, { subject: 'all hands', body: `<p>${'x'.repeat(1_500_000)}</p>` });
      for (let i = 5; i < 10; i++) sim.createEvent(small, { subject: `normal ${i}` });
      await sim.settled(30_000);

      const delivered = sim.notifications({ kind: 'change', state: 'delivered' });
      expect(delivered).toHaveLength(11);
      expect(sim.records.attempts.all().filter((a) => a.kind === 'change' && a.status === 503)).toEqual([]);
      const records = await pipe.reader.waitFor(11);
      await pipe.reader.readToEnd();
      const byId = new Map<string, number>();
      for (const r of records) {
        const id = r.headers['g2k-notification-id']!;
        byId.set(id, (byId.get(id) ?? 0) + 1);
      }
      expect(delivered.every((n) => byId.get(n.id) === 1)).toBe(true);
      const reduced = records.find((r) => r.key!.endsWith(invitation.immutableId))!;
      expect(reduced.headers['g2k-reduced']).toBe('body');
      expect(JSON.parse(reduced.value!)).toMatchObject({
        enriched: true,
        reducedProperties: ['body'],
        event: { subject: 'all hands' },
      });
      expect(JSON.parse(reduced.value!).event.body).toBeUndefined();
      expect(new Set(records.map((r) => r.partition)).size).toBeGreaterThan(1);

      // The mailbox's resync meets the same event and completes.
      sim.lifecycle(subBig.id, 'missed');
      await sim.settled(30_000);
      await pipe.app.idle();
      await pipe.app.manager!.resyncPending();
      expect(
        (await new Collection(pipe.app.documents, syncCollection).get({ tenantId: subBig.tenantId, userId: big }))
          ?.resyncPending,
      ).toBe(false);
      await pipe.reader.readToEnd();
      const resynced = pipe.reader.records.find(
        (r) => r.headers['g2k-source'] === 'resync' && r.key!.endsWith(invitation.immutableId),
      );
      expect(resynced?.headers['g2k-reduced']).toBe('body');
    } finally {
      await pipe.stop();
    }
  }, 90_000);

  it('dead-letters a record the broker refuses although our limit let it through; its neighbours land once', async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 50 } });
    // A limit above the broker's message.max.bytes (1 MiB): Kafka itself refuses the record, permanently.
    const pipe = await startPipeline(sim, { G2K_MAX_RECORD_BYTES: '5000000' });
    const deadLetters = await TopicReader.start(brokersFromEnv(), pipe.deadLetterTopic);
    try {
      const [big, small] = sim.defaults.users.map((u) => u.id) as [string, string];
      await createSubscription(sim, pipe.app.subscriptions, { userId: big, notificationUrl: pipe.url });
      await createSubscription(sim, pipe.app.subscriptions, { userId: small, notificationUrl: pipe.url });
      for (let i = 0; i < 3; i++) sim.createEvent(small, { subject: `normal ${i}` });
      const invitation = sim.createEvent(big, { subject: 'too big', body: 'y'.repeat(1_500_000) });
      for (let i = 3; i < 6; i++) sim.createEvent(small, { subject: `normal ${i}` });
      await sim.settled(30_000);
      expect(sim.records.attempts.all().filter((a) => a.kind === 'change' && a.status === 503)).toEqual([]);
      const [dead] = await deadLetters.waitFor(1);
      expect(JSON.parse(dead!.value!)).toMatchObject({
        reason: 'refused_by_kafka',
        key: `${sim.defaults.tenantId}/${big}/${invitation.immutableId}`,
        notification: { changeType: 'created', subscriptionId: expect.any(String) },
      });
      expect(dead!.value).not.toContain('clientState');
      expect(dead!.value!.length).toBeLessThan(10_000);
      await pipe.reader.waitFor(6);
      await pipe.reader.readToEnd();
      // Every neighbour landed. Records of other partitions in the refused request may have landed with it
      // and are sent again when each send is tried alone: at most one duplicate each, never a loss.
      const counts = new Map<string, number>();
      for (const r of pipe.reader.records) {
        const id = r.headers['g2k-notification-id']!;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      const neighbours = sim
        .notifications({ kind: 'change', state: 'delivered' })
        .filter((n) => !n.resource!.endsWith(invitation.immutableId));
      expect(neighbours).toHaveLength(6);
      for (const n of neighbours) expect([1, 2]).toContain(counts.get(n.id));
      expect(pipe.app.receiver.counters.deadLettered).toBe(1);
    } finally {
      await deadLetters.stop();
      await pipe.stop();
    }
  }, 90_000);
});

describe('records produced without their event are repaired', () => {
  it('queues every change Graph would not serve, and the timer run repairs each once Graph recovers', async () => {
    const sim = await GraphSim.start({
      delivery: { batchWindowMs: 20 },
      faults: { throttleRate: 1, retryAfterSeconds: 10 },
    });
    const pipe = await startPipeline(sim, {
      G2K_NOTIFICATION_URL: NOTIFICATION_URL,
      G2K_LIFECYCLE_URL: NOTIFICATION_URL,
    });
    try {
      const user = sim.defaults.users[0]!.id;
      sim.setFaults({ throttleRate: 0 });
      await createSubscription(sim, pipe.app.subscriptions, { userId: user, notificationUrl: pipe.url });
      sim.setFaults({ throttleRate: 1 });
      const created = ['a', 'b', 'c', 'd', 'e'].map((subject) => sim.createEvent(user, { subject }));
      // A second change of one event while it waits: still one repair for it.
      sim.updateEvent(user, created[0]!.id, { subject: 'a (renamed)' });
      await sim.settled();
      const first = await pipe.reader.waitFor(6);
      expect(first.every((r) => JSON.parse(r.value!).notEnrichedReason === 'throttled')).toBe(true);
      expect(
        (await new Collection(pipe.app.documents, repairCollection).list({ limit: 100 })).map((e) => e.itemId).sort(),
      ).toEqual(created.map((e) => e.immutableId).sort());

      sim.setFaults({ throttleRate: 0 });
      const { runRenewal } = await import('@graph2kafka/core');
      const report = await runRenewal(pipe.app);
      expect(report.tasks.repair).toEqual({ repaired: 5, gone: 0, left: 0, abandoned: 0 });
      await pipe.reader.waitFor(11);
      const repairs = pipe.reader.records.filter((r) => r.headers['g2k-source'] === 'repair');
      expect(repairs.map((r) => r.key).sort()).toEqual(
        created.map((e) => `${sim.defaults.tenantId}/${user}/${e.immutableId}`).sort(),
      );
      for (const r of repairs) {
        const value = JSON.parse(r.value!);
        expect(value).toMatchObject({ source: 'repair', enriched: true, notEnrichedReason: null });
        expect(value.event).toMatchObject({ id: value.eventId });
      }
      expect(JSON.parse(repairs.find((r) => r.key!.endsWith(created[0]!.immutableId))!.value!).event.subject).toBe(
        'a (renamed)',
      );
      expect(await new Collection(pipe.app.documents, repairCollection).list({ limit: 100 })).toEqual([]);
    } finally {
      await pipe.stop();
      await sim.stop();
    }
  }, 60_000);

  it('keeps its bound against one clientState’s junk, and still takes another mailbox’s genuine repair', async () => {
    const sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    const pipe = await startPipeline(sim, {
      G2K_NOTIFICATION_URL: NOTIFICATION_URL,
      G2K_LIFECYCLE_URL: NOTIFICATION_URL,
      G2K_REPAIR_QUEUE_MAX: '100',
    });
    try {
      const [attacker, victim] = sim.defaults.users.map((u) => u.id) as [string, string];
      const held = await createSubscription(sim, pipe.app.subscriptions, {
        userId: attacker,
        notificationUrl: pipe.url,
      });
      await createSubscription(sim, pipe.app.subscriptions, { userId: victim, notificationUrl: pipe.url });
      // Three POSTs of 1,000 made-up ids with the one clientState the attacker holds: 800 of each go out
      // unenriched (past the per-POST read limit) and ask for a repair.
      for (let round = 0; round < 3; round++) {
        const value = Array.from({ length: 1_000 }, (_, i) =>
          change(held, `Users/${attacker}/Events/AAMkjunk${round}x${i}=`, { id: undefined }),
        );
        // On a loaded machine a POST of 1,000 may miss Graph's 3 s and be answered 503: Graph sends it again.
        let status = 0;
        for (let attempt = 0; attempt < 5 && status !== 202; attempt++)
          status = (await post(pipe.url, JSON.stringify({ value }))).status;
        expect(status).toBe(202);
      }
      const queued = await new Collection(pipe.app.documents, repairCollection).list({ limit: 10_000 });
      // Half the queue is open to anyone, then a mailbox gets its share (a tenth): 50 + 10 at most.
      expect(queued.length).toBeLessThanOrEqual(60);
      expect(queued.length).toBeGreaterThanOrEqual(50);
      // The victim's genuine change, whose read Graph refuses just then, still gets its repair entry.
      const genuine = sim.createEvent(victim, { subject: 'board meeting' });
      sim.addFaultRule({ pathContains: genuine.immutableId, status: 503, retryAfterSeconds: 30, count: 10 });
      await sim.settled();
      const ofVictim = (entries: Array<{ userId: string }>) =>
        entries.filter((e) => e.userId.toLowerCase() === victim.toLowerCase());
      let entries = await new Collection(pipe.app.documents, repairCollection).list({ limit: 10_000 });
      for (const deadline = Date.now() + 20_000; !ofVictim(entries).length && Date.now() < deadline;)
        entries = await new Promise((r) => setTimeout(r, 50)).then(() =>
          new Collection(pipe.app.documents, repairCollection).list({ limit: 10_000 }),
        );
      expect(ofVictim(entries).map((e) => (e as { itemId?: string }).itemId)).toEqual([genuine.immutableId]);
      expect(entries.length).toBeLessThanOrEqual(100);
    } finally {
      await pipe.stop();
      await sim.stop();
    }
  }, 90_000);
});
