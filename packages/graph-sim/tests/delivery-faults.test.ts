import type { GraphSim } from '../src/index.ts';
import { call, correctReply, futureIso, getToken, Receiver, startSim, subscribe, waitFor } from './helpers.ts';

/**
 * The delivery faults that imitate what Graph does in production beyond its documented retry rules: notifications
 * lost without a `missed` event, POSTs delivered twice, POSTs overtaking each other, and several `updated` per
 * calendar edit. Each test would fail if its fault did nothing.
 */

/** Short real timeouts and sim-time retry delays, so Graph's retry rules fit a test. */
const FAST = {
  delivery: {
    firstAttemptTimeoutMs: 300,
    retryTimeoutMs: 300,
    retryBaseDelayMs: 1_000,
    retryMaxDelayMs: 60_000,
    batchWindowMs: 20,
  },
};

/** A change notification as a receiver reads it from a POST (the fields these tests look at). */
interface Note {
  id: string;
  subscriptionId: string;
  changeType: string;
  resourceData: { id: string };
}

describe('delivery faults: silent drops, duplicates, out-of-order POSTs, several updates per edit', () => {
  let sim: GraphSim;
  let receiver: Receiver;
  let token: string;
  let adele: string;
  beforeEach(async () => {
    sim = await startSim(FAST);
    receiver = await Receiver.start();
    token = await getToken(sim);
    adele = sim.defaults.users[0]!.id;
  });
  afterEach(async () => {
    await sim.stop();
    await receiver.stop();
  });

  const changePosts = () => receiver.posts().filter((p) => !p.query.has('lifecycle'));
  const changeNotes = (): Note[] => changePosts().flatMap((p) => (p.body as { value: Note[] }).value);
  const lifecycleEvents = (): string[] =>
    receiver
      .posts()
      .filter((p) => p.query.has('lifecycle'))
      .flatMap((p) => (p.body as { value: Array<{ lifecycleEvent: string }> }).value.map((l) => l.lifecycleEvent));

  it('starts with every new fault off, and shows them through the control API', async () => {
    const res = await call(sim, 'GET', '/_sim/faults');
    expect(res.body.faults).toMatchObject({
      silentDropRate: 0,
      duplicateDeliveryRate: 0,
      duplicateDelayMs: 2_000,
      delayDeliveryRate: 0,
      delayDeliveryMs: 5_000,
      calendarEditNotifications: { min: 1, max: 1 },
    });
  });

  describe('silentDropRate', () => {
    it('at 1 delivers nothing and sends no `missed`; the records name each notification dropped', async () => {
      const sub = await subscribe(sim, token, receiver, { userId: adele });
      const patched = await call(sim, 'PATCH', '/_sim/faults', { json: { silentDropRate: 1 } });
      expect(patched.status).toBe(200);
      expect(patched.body.faults.silentDropRate).toBe(1);
      const a = sim.createEvent(adele, { subject: 'a' });
      sim.updateEvent(adele, a.id, { subject: 'a2' });
      sim.createEvent(adele, { subject: 'b' });
      await sim.settled();
      // Give a `missed` (sent at once for other drops) the time it would need to arrive.
      sim.clock.advance(2 * 60_000);
      await new Promise((r) => setTimeout(r, 100));
      await sim.settled();

      expect(changePosts()).toHaveLength(0);
      expect(lifecycleEvents()).toEqual([]);
      expect(sim.notifications({ kind: 'lifecycle' })).toEqual([]);
      const dropped = sim.notifications({ kind: 'change', droppedReason: 'silentDrop' });
      expect(dropped.map((n) => [n.subscriptionId, n.changeType, n.state])).toEqual([
        [sub.id, 'created', 'dropped'],
        [sub.id, 'updated', 'dropped'],
        [sub.id, 'created', 'dropped'],
      ]);
      const listed = await call(sim, 'GET', '/_sim/records/notifications?droppedReason=silentDrop');
      expect(listed.body.value.map((n: { id: string }) => n.id)).toEqual(dropped.map((n) => n.id));
    });

    it('unlike deliveryDropRate, which is followed by `missed`', async () => {
      await subscribe(sim, token, receiver, { userId: adele });
      sim.setFaults({ deliveryDropRate: 1 });
      sim.createEvent(adele, { subject: 'lost loudly' });
      await sim.settled();
      expect(lifecycleEvents()).toEqual(['missed']);
      expect(sim.notifications({ droppedReason: 'silentDrop' })).toEqual([]);
    });

    it('at 0.5 loses a share, the same ones for the same seed', async () => {
      const run = async (): Promise<{ lost: string[]; delivered: string[] }> => {
        await subscribe(sim, token, receiver, { userId: adele });
        sim.setFaults({ silentDropRate: 0.5 });
        const subjects = new Map<string, string>();
        for (let i = 0; i < 20; i++) {
          const e = sim.createEvent(adele, { subject: `e${i}` });
          subjects.set(e.immutableId, `e${i}`);
        }
        await sim.settled();
        const of = (state: string) =>
          sim.notifications({ kind: 'change', state }).map((n) => subjects.get(n.eventId!)!);
        return { lost: of('dropped'), delivered: changeNotes().map((n: Note) => subjects.get(n.resourceData.id)!) };
      };
      const first = await run();
      expect(first.lost.length).toBeGreaterThan(0);
      expect(first.delivered.length).toBeGreaterThan(0);
      expect([...first.lost, ...first.delivered].sort()).toHaveLength(20);
      expect(lifecycleEvents()).toEqual([]);

      await sim.stop();
      await receiver.stop();
      sim = await startSim(FAST);
      receiver = await Receiver.start();
      token = await getToken(sim);
      expect((await run()).lost).toEqual(first.lost);
    });
  });

  describe('duplicateDeliveryRate', () => {
    it('at 1 delivers every notification id exactly twice, the second POST the same as the first', async () => {
      await subscribe(sim, token, receiver, { userId: adele });
      sim.setFaults({ duplicateDeliveryRate: 1, duplicateDelayMs: 2_000 });
      sim.clock.setSpeed(100);
      const a = sim.createEvent(adele, { subject: 'a' });
      sim.updateEvent(adele, a.id, { subject: 'a2' });
      sim.createEvent(adele, { subject: 'b' });
      await sim.settled();

      const counts = new Map<string, number>();
      for (const n of changeNotes()) counts.set(n.id, (counts.get(n.id) ?? 0) + 1);
      expect([...counts.values()]).toEqual([2, 2, 2]);
      const posts = changePosts();
      expect(posts).toHaveLength(2);
      expect(posts[1]!.body).toEqual(posts[0]!.body);
      expect(lifecycleEvents()).toEqual([]);

      const attempts = sim.records.attempts.all().filter((r) => r.kind === 'change');
      expect(attempts.map((r) => [r.outcome, r.duplicate ?? false])).toEqual([
        ['delivered', false],
        ['delivered', true],
      ]);
      expect(attempts[1]!.deliveryId).not.toBe(attempts[0]!.deliveryId);
      expect(attempts[1]!.notificationIds).toEqual(attempts[0]!.notificationIds);
      // After duplicateDelayMs of simulated time (the clock runs 100x: allow a few real ms of slack).
      expect(Date.parse(attempts[1]!.at) - Date.parse(attempts[0]!.at)).toBeGreaterThanOrEqual(2_000);
      for (const record of sim.notifications({ kind: 'change' })) {
        expect(record).toMatchObject({ state: 'delivered', attempts: 2 });
        expect(record.duplicateDeliveredAt).toEqual(expect.any(String));
      }
    });

    it('retries a duplicate that is refused, by Graph’s rules, without changing the notification’s fate', async () => {
      await subscribe(sim, token, receiver, { userId: adele });
      sim.setFaults({ duplicateDeliveryRate: 1, duplicateDelayMs: 500 });
      let post = 0;
      receiver.reply = (r) =>
        r.query.has('validationToken') || r.query.has('lifecycle')
          ? correctReply(r)
          : // The original is accepted, the duplicate's first attempt refused, its retry accepted.
            { status: ++post === 2 ? 500 : 202 };
      sim.clock.setSpeed(100);
      sim.createEvent(adele, { subject: 'twice' });
      await sim.settled();
      const attempts = sim.records.attempts.all().filter((r) => r.kind === 'change');
      expect(attempts.map((r) => [r.attempt, r.outcome, r.duplicate ?? false])).toEqual([
        [1, 'delivered', false],
        [1, 'rejected', true],
        [2, 'delivered', true],
      ]);
      expect(changeNotes()).toHaveLength(3);
      expect(new Set(changeNotes().map((n: Note) => n.id)).size).toBe(1);
      expect(sim.notifications({ kind: 'change' })[0]).toMatchObject({ state: 'delivered', attempts: 3 });
    });
  });

  describe('delayDeliveryRate', () => {
    it('holds a POST back, so a notification created later reaches the receiver first', async () => {
      await subscribe(sim, token, receiver, { userId: adele });
      // One notification per POST: each POST is made (and held back or not) as its change happens.
      sim.setDelivery({ maxNotificationsPerPost: 1 });
      sim.setFaults({ delayDeliveryRate: 1, delayDeliveryMs: 60_000 });
      const early = sim.createEvent(adele, { subject: 'early' });
      sim.setFaults({ delayDeliveryRate: 0 });
      const late = sim.createEvent(adele, { subject: 'late' });
      await waitFor('the later notification', () => changePosts().length === 1);
      // The earlier one is still held back (60 s of simulated time), until the clock gets there.
      await new Promise((r) => setTimeout(r, 100));
      expect(changePosts()).toHaveLength(1);
      sim.clock.advance(60_000);
      await sim.settled();

      expect(changeNotes().map((n: Note) => n.resourceData.id)).toEqual([late.immutableId, early.immutableId]);
      const [first, second] = sim.notifications({ kind: 'change' });
      expect(first!.eventId).toBe(early.immutableId);
      // Created first (the same millisecond at most), delivered last.
      expect(Date.parse(first!.createdAt)).toBeLessThanOrEqual(Date.parse(second!.createdAt));
      expect(Date.parse(first!.deliveredAt!)).toBeGreaterThan(Date.parse(second!.deliveredAt!));
    });

    it('at 0.5 lets some POSTs overtake earlier ones (one notification per POST, one POST at a time)', async () => {
      await sim.stop();
      // One POST on the wire at a time: without the fault they would arrive strictly in creation order.
      sim = await startSim({
        ...FAST,
        delivery: { ...FAST.delivery, maxNotificationsPerPost: 1, concurrencyPerUrl: 1 },
      });
      token = await getToken(sim);
      await subscribe(sim, token, receiver, { userId: adele });
      sim.setFaults({ delayDeliveryRate: 0.5, delayDeliveryMs: 1_000 });
      sim.clock.setSpeed(20);
      const ids = Array.from({ length: 10 }, (_, i) => sim.createEvent(adele, { subject: `e${i}` }).immutableId);
      await sim.settled();
      const seen = changeNotes().map((n: Note) => n.resourceData.id);
      expect([...seen].sort()).toEqual([...ids].sort());
      expect(seen).not.toEqual(ids);
    });
  });

  describe('calendarEditNotifications', () => {
    it('{2,2}: two `updated` (own ids) per event update; one per create, delete and message update', async () => {
      const events = await subscribe(sim, token, receiver, { userId: adele });
      const messages = await call(sim, 'POST', '/v1.0/subscriptions', {
        token,
        json: {
          changeType: 'created,updated,deleted',
          notificationUrl: receiver.url,
          resource: `/users/${adele}/messages`,
          expirationDateTime: futureIso(4000, sim),
          clientState: 'mail',
        },
      });
      expect(messages.status).toBe(201);
      const patched = await call(sim, 'PATCH', '/_sim/faults', {
        json: { calendarEditNotifications: { min: 2, max: 2 } },
      });
      expect(patched.body.faults.calendarEditNotifications).toEqual({ min: 2, max: 2 });

      const e = sim.createEvent(adele, { subject: 'e' });
      sim.updateEvent(adele, e.id, { subject: 'e2' });
      const m = sim.createItem('messages', adele, { subject: 'm' });
      sim.updateItem('messages', adele, m.id, { subject: 'm2' });
      await sim.settled();
      sim.deleteEvent(adele, e.id);
      await sim.settled();

      const of = (subId: string) =>
        changeNotes()
          .filter((n: Note) => n.subscriptionId === subId)
          .map((n: Note) => n.changeType);
      expect(of(events.id as string).sort()).toEqual(['created', 'deleted', 'updated', 'updated']);
      expect(of(messages.body.id as string).sort()).toEqual(['created', 'updated']);
      const updates = changeNotes().filter((n: Note) => n.subscriptionId === events.id && n.changeType === 'updated');
      expect(updates[0]!.id).not.toBe(updates[1]!.id);
      expect(updates[1]!.resourceData).toEqual(updates[0]!.resourceData);
      const records = sim
        .notifications({ subscriptionId: events.id as string })
        .filter((n) => n.changeType === 'updated');
      expect(records[1]!.sameEditAs).toBe(records[0]!.id);
      expect(records[0]!.sameEditAs).toBeUndefined();
    });

    it('{2,3}: draws 2 or 3 per edit; the extras share the first one’s POST or go in the next', async () => {
      await subscribe(sim, token, receiver, { userId: adele });
      sim.setFaults({ calendarEditNotifications: { min: 2, max: 3 } });
      // Room for all of them in one POST, so only the fault's hold can put an extra in a later one.
      sim.setDelivery({ maxNotificationsPerPost: 50 });
      const e = sim.createEvent(adele, { subject: 'e' });
      await sim.settled();
      for (let i = 0; i < 4; i++) sim.updateEvent(adele, e.id, { subject: `e${i}` });
      await sim.settled();

      const updates = sim.notifications({ kind: 'change' }).filter((n) => n.changeType === 'updated');
      const perEdit = new Map<string, number>();
      for (const n of updates) perEdit.set(n.sameEditAs ?? n.id, (perEdit.get(n.sameEditAs ?? n.id) ?? 0) + 1);
      expect(perEdit.size).toBe(4);
      expect([...perEdit.values()].every((c) => c === 2 || c === 3)).toBe(true);
      expect(new Set(perEdit.values()).size).toBe(2);

      // Where each extra landed: in its first notification's POST, or in a later one.
      const postOf = new Map<string, number>();
      changePosts().forEach((p, i) => {
        for (const n of (p.body as { value: Note[] }).value) postOf.set(n.id, i);
      });
      const extras = updates.filter((n) => n.sameEditAs);
      const same = extras.filter((n) => postOf.get(n.id) === postOf.get(n.sameEditAs!));
      const later = extras.filter((n) => postOf.get(n.id)! > postOf.get(n.sameEditAs!)!);
      expect(same.length + later.length).toBe(extras.length);
      expect(same.length).toBeGreaterThan(0);
      expect(later.length).toBeGreaterThan(0);
    });
  });

  it.each([
    [{ silentDropRate: 1.5 }, /faults\.silentDropRate must be a number from 0 to 1, got 1\.5/],
    [{ duplicateDeliveryRate: -0.1 }, /faults\.duplicateDeliveryRate must be a number from 0 to 1/],
    [{ delayDeliveryRate: 'half' }, /faults\.delayDeliveryRate must be a number from 0 to 1, got half/],
    [{ duplicateDelayMs: 1.5 }, /faults\.duplicateDelayMs must be an integer number of ms >= 0, got 1\.5/],
    [{ delayDeliveryMs: -1 }, /faults\.delayDeliveryMs must be an integer number of ms >= 0/],
    [{ calendarEditNotifications: { min: 0, max: 1 } }, /calendarEditNotifications must be \{min, max\}.*1 <= min/],
    [{ calendarEditNotifications: { min: 3, max: 2 } }, /calendarEditNotifications.*got \{"min":3,"max":2\}/],
    [{ calendarEditNotifications: { min: 1, max: 6 } }, /calendarEditNotifications.*max <= 5/],
    [{ calendarEditNotifications: 2 }, /calendarEditNotifications must be \{min, max\}/],
    [{ silentDropRat: 1 }, /unknown fault option\(s\) silentDropRat; known: .*silentDropRate/],
  ])('refuses %j with a clear error, over HTTP and at start', async (patch, message) => {
    const before = sim.faults.current;
    const res = await call(sim, 'PATCH', '/_sim/faults', { json: patch });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
    expect(sim.faults.current).toEqual(before);
    await expect(startSim({ faults: patch as never })).rejects.toThrow(message);
  });
});
