import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runRenewal } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { recordValue as value, type ReadRecord } from '@graph2kafka/testkit';
import { startPipeline, type Pipeline } from './served-pipeline.ts';

/**
 * Calendars as targets, end to end (served app, real Kafka, graph-sim): every calendar of one mailbox
 * (`calendars: "all"`, re-discovered by each timer run), one calendar of another by name, and the rooms of a room
 * list found through the Places API. Records carry the calendar; keys do not, so a moved event keeps its key.
 */
describe('calendars and rooms end to end (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let tenantId: string;
  let adele: string;
  let alex: string;
  let megan: string;
  let meganPrivate: string;
  let projects: string;
  let planning: string;
  let room: string;
  let otherRoom: string;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    tenantId = sim.defaults.tenantId;
    [adele, alex] = sim.defaults.users.map((u) => u.id) as [string, string];
    const domain = sim.defaults.users[0]!.userPrincipalName.split('@')[1]!;
    projects = sim.addCalendar(adele, 'Projects').id;
    planning = sim.addCalendar(alex, 'Shared planning').id;
    // A mailbox subscribed as before (its default calendar), with a calendar nobody subscribed to.
    megan = sim.addUser(tenantId, { userPrincipalName: `megan@${domain}` }).id;
    meganPrivate = sim.addCalendar(megan, 'Private').id;
    sim.addRoomList(tenantId, { displayName: 'Building 1', emailAddress: `bldg1@${domain}` });
    room = sim.addUser(tenantId, {
      userPrincipalName: `conf-1@${domain}`,
      userPurpose: 'room',
      roomList: `bldg1@${domain}`,
    }).id;
    // A room of the tenant outside the list: never subscribed.
    otherRoom = sim.addUser(tenantId, { userPrincipalName: `conf-9@${domain}`, userPurpose: 'room' }).id;
    const file = join(tmpdir(), `g2k-calendars-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        subscriptions: [
          { kind: 'events', users: [adele], calendars: 'all' },
          { kind: 'events', users: [alex], calendars: ['shared planning'] },
          { kind: 'events', users: [megan] },
          { kind: 'events', rooms: `bldg1@${domain}`, calendars: 'all' },
        ],
      }),
    );
    pipe = await startPipeline(sim, { G2K_SUBSCRIPTIONS_FILE: file }, {}, { subscribe: true });
  }, 60_000);

  afterAll(async () => {
    await pipe?.stop();
    await sim?.stop();
  });

  const defaultOf = (userId: string) => sim.listCalendars(userId).find((c) => c.isDefault)!.id;
  const key = (userId: string, eventId: string) => `${tenantId}/${userId}/${eventId}`;
  const ofEvent =
    (eventId: string, more: (r: ReadRecord) => boolean = () => true) =>
    (r: ReadRecord) =>
      r.value !== null && value(r).eventId === eventId && more(r);

  it('subscribes each calendar the desired state names: all of one mailbox, one by name, the rooms of a list', async () => {
    const first = await runRenewal(pipe.app);
    expect(first.errors).toEqual([]);
    const resources = [adele, alex, megan, room, otherRoom]
      .flatMap((u) => sim.subscriptions.forMailbox(u))
      .map((s) => s.resource)
      .sort();
    expect(resources).toEqual(
      [
        `/users/${adele}/calendars/${defaultOf(adele)}/events`,
        `/users/${adele}/calendars/${projects}/events`,
        `/users/${alex}/calendars/${planning}/events`,
        `/users/${megan}/events`,
        `/users/${room}/calendars/${defaultOf(room)}/events`,
      ].sort(),
    );
    const second = await runRenewal(pipe.app);
    expect(second).toMatchObject({ created: [], deleted: [], errors: [], unchanged: 5 });
  });

  it('events of a secondary calendar and of a room land with their calendarId, keyed tenant/user/event', async () => {
    const e = sim.createEvent(adele, { subject: 'roadmap review' }, projects);
    const got = await pipe.reader.waitForMatch(ofEvent(e.immutableId));
    expect(got.key).toBe(key(adele, e.immutableId));
    expect(value(got)).toMatchObject({ source: 'notification', changeType: 'created', calendarId: projects });
    expect(value(got).event).toMatchObject({ subject: 'roadmap review', calendar: { id: projects } });

    // A booking is heard as created, updated, updated, updated: each record the whole booking, in the room's calendar.
    const booking = sim.createEvent(room, { subject: 'all hands' });
    await pipe.reader.waitForMatch(ofEvent(booking.immutableId, (r) => value(r).changeType === 'created'));
    await sim.settled();
    expect(
      sim
        .notifications({ kind: 'change' })
        .filter((n) => n.eventId === booking.immutableId)
        .map((n) => n.changeType),
    ).toEqual(['created', 'updated', 'updated', 'updated']);
    const records = (await pipe.reader.readToEnd()).filter(ofEvent(booking.immutableId));
    expect(records.length).toBeGreaterThanOrEqual(1);
    for (const r of records) {
      expect(r.key).toBe(key(room, booking.immutableId));
      expect(value(r)).toMatchObject({ calendarId: defaultOf(room), enriched: true });
      expect(value(r).event).toMatchObject({ subject: 'all hands', changeKey: booking.changeKey });
    }
  });

  it('a calendar added later is subscribed by the next timer run, with a snapshot of what it already holds', async () => {
    const later = sim.addCalendar(adele, 'Later').id;
    const existing = sim.createEvent(adele, { subject: 'already there' }, later);
    const report = await runRenewal(pipe.app);
    expect(report.errors).toEqual([]);
    expect(report.created).toHaveLength(1);
    expect(sim.subscriptions.forMailbox(adele).map((s) => s.resource)).toContain(
      `/users/${adele}/calendars/${later}/events`,
    );
    const snap = await pipe.reader.waitForMatch(ofEvent(existing.immutableId, (r) => value(r).source === 'snapshot'));
    expect(value(snap)).toMatchObject({ calendarId: later, enriched: true });
    expect(value(snap).event).toMatchObject({ subject: 'already there' });
    // And it hears what happens next.
    const next = sim.createEvent(adele, { subject: 'after the snapshot' }, later);
    const heard = await pipe.reader.waitForMatch(ofEvent(next.immutableId));
    expect(value(heard)).toMatchObject({ source: 'notification', calendarId: later });
  });

  it('a calendar removed is unsubscribed by the next timer run (its events are not tombstoned: see docs)', async () => {
    const gone = sim.addCalendar(adele, 'Short-lived').id;
    expect((await runRenewal(pipe.app)).created).toHaveLength(1);
    sim.removeCalendar(adele, gone);
    const report = await runRenewal(pipe.app);
    expect(report.errors).toEqual([]);
    expect(report.deleted).toHaveLength(1);
    expect(sim.subscriptions.forMailbox(adele).map((s) => s.folderId)).not.toContain(gone);
  });

  it('an event moved between calendars keeps its key; the topic ends with it where it is now', async () => {
    const e = sim.createEvent(adele, { subject: 'moving' }, projects);
    await pipe.reader.waitForMatch(ofEvent(e.immutableId));
    sim.moveEvent(adele, e.id, 'calendar');
    const there = await pipe.reader.waitForMatch(
      ofEvent(e.immutableId, (r) => value(r).calendarId === defaultOf(adele) && value(r).changeType === 'created'),
    );
    expect(there.key).toBe(key(adele, e.immutableId));
    const all = (await pipe.reader.readToEnd()).filter((r) => r.key === key(adele, e.immutableId));
    // No tombstone: the event still exists; the latest value of the key is the whole event, in the default calendar.
    expect(all.every((r) => r.value !== null)).toBe(true);
    expect(value(all.at(-1)).event).toMatchObject({ subject: 'moving', calendar: { id: defaultOf(adele) } });
  });

  /** Posts a notification as whoever holds the subscription's clientState could. */
  const forge = async (subscriptionOf: string, resourceFolder: string | undefined, resource: string) => {
    const sub = sim.subscriptions.forMailbox(subscriptionOf).find((s) => s.folderId === resourceFolder)!;
    const record = (await pipe.app.subscriptions.list()).find((r) => r.id === sub.id)!;
    const res = await fetch(pipe.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        value: [
          {
            subscriptionId: record.id,
            subscriptionExpirationDateTime: record.expirationDateTime,
            changeType: 'updated',
            resource,
            clientState: record.clientState,
            tenantId,
          },
        ],
      }),
    });
    expect(res.status).toBe(202);
  };

  it('a forged notification naming another calendar of the same mailbox produces nothing whole', async () => {
    // Alex's default calendar is not subscribed; the attacker holds the "Shared planning" subscription's secret.
    const secret = sim.createEvent(alex, { subject: 'salary review (private)' });
    await forge(alex, planning, `Users/${alex}/Events/${secret.immutableId}`);
    const forged = await pipe.reader.waitForMatch(ofEvent(secret.immutableId));
    expect(value(forged)).toMatchObject({ outsideFolder: true, calendarId: planning, source: 'notification' });
    expect(value(forged).event).toEqual({ id: secret.immutableId, calendar: { id: defaultOf(alex) } });
    await pipe.reader.readToEnd();
    expect(pipe.reader.records.some((r) => r.value?.includes('salary review'))).toBe(false);
  });

  it('so does one on /users/{id}/events (the default calendar only) naming an event of another calendar', async () => {
    const secret = sim.createEvent(megan, { subject: 'medical leave (private)' }, meganPrivate);
    await forge(megan, undefined, `Users/${megan}/Events/${secret.immutableId}`);
    const forged = await pipe.reader.waitForMatch(ofEvent(secret.immutableId));
    expect(value(forged)).toMatchObject({ outsideFolder: true, source: 'notification' });
    expect(value(forged)).not.toHaveProperty('calendarId');
    expect(value(forged).event).toEqual({ id: secret.immutableId, calendar: { id: meganPrivate } });
    await pipe.reader.readToEnd();
    expect(pipe.reader.records.some((r) => r.value?.includes('medical leave'))).toBe(false);
    // Its own default calendar's events are produced whole, as before.
    const own = sim.createEvent(megan, { subject: 'dentist' });
    const whole = await pipe.reader.waitForMatch(ofEvent(own.immutableId));
    expect(value(whole).event).toMatchObject({ subject: 'dentist', calendar: { id: defaultOf(megan) } });
    expect(value(whole)).not.toHaveProperty('outsideFolder');
  });

  it('a forged notification naming another room produces nothing', async () => {
    const elsewhere = sim.createEvent(otherRoom, { subject: 'confidential offsite' });
    await forge(room, defaultOf(room), `Users/${otherRoom}/Events/${elsewhere.immutableId}`);
    // A genuine change after it, so the topic has moved past whatever the forgery could have written.
    const marker = sim.createEvent(room, { subject: 'marker' });
    await pipe.reader.waitForMatch(ofEvent(marker.immutableId));
    await pipe.reader.readToEnd();
    expect(pipe.reader.records.some((r) => r.value !== null && value(r).eventId === elsewhere.immutableId)).toBe(false);
    expect(pipe.reader.records.some((r) => r.value?.includes('confidential offsite'))).toBe(false);
  });

  it('"all" subscribes 50 calendars of a mailbox at most: its owner cannot spend the app\'s subscriptions', async () => {
    for (let i = 0; i < 60; i++) sim.addCalendar(adele, `Spam ${i}`);
    const report = await runRenewal(pipe.app);
    expect(report.errors).toEqual([]);
    const ofAdele = sim.subscriptions.forMailbox(adele);
    expect(ofAdele).toHaveLength(50);
    // The first ones Graph lists: her own calendars stay subscribed.
    expect(ofAdele.map((s) => s.folderId)).toEqual(expect.arrayContaining([defaultOf(adele), projects]));
  });
});
