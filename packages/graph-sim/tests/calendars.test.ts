import type { GraphSim } from '../src/index.ts';
import { call, getToken, Receiver, startSim, subscribe } from './helpers.ts';

const IMMUTABLE = { Prefer: 'IdType="ImmutableId"' };

describe('calendars: several per mailbox, rooms and the Places API', () => {
  let sim: GraphSim;
  let receiver: Receiver;
  let token: string;
  let adele: string;
  beforeAll(async () => {
    sim = await startSim();
    receiver = await Receiver.start();
    token = await getToken(sim);
    adele = sim.defaults.users[0]!.id;
  });
  afterAll(async () => {
    await sim.stop();
    await receiver.stop();
  });
  beforeEach(() => receiver.received.splice(0));

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await call(sim, 'GET', `/v1.0${path}`, { token, headers });
    return res;
  };

  it('lists a mailbox calendars, the default one first, and reads each; /calendar is the default', async () => {
    const work = sim.addCalendar(adele, 'Work');
    const list = await get(`/users/${adele}/calendars?$select=name,isDefaultCalendar`);
    expect(list.status).toBe(200);
    expect(list.body.value.map((c: { name: string }) => c.name)).toEqual(['Calendar', 'Work']);
    expect(list.body.value[0]).toEqual({ id: expect.any(String), name: 'Calendar', isDefaultCalendar: true });
    const one = await get(`/users/${adele}/calendars/${work.id}`);
    expect(one.body).toMatchObject({ id: work.id, name: 'Work', isDefaultCalendar: false, canEdit: true });
    expect((await get(`/users/${adele}/calendar?$select=id`)).body.id).toBe(list.body.value[0].id);
    expect((await get(`/users/${adele}/calendars/AAMkNoSuchCalendar=`)).status).toBe(404);
    expect(() => sim.addCalendar(adele, 'work')).toThrow(/already has a calendar named/);
  });

  it("lists and tracks one calendar's events; /users/{id}/events and calendarView/delta show the default calendar only", async () => {
    const travel = sim.addCalendar(adele, 'Travel');
    const inDefault = sim.createEvent(adele, { subject: 'standup' });
    const inTravel = sim.createEvent(adele, { subject: 'flight' }, travel.id);
    expect(inTravel.calendarId).toBe(travel.id);
    const subjects = (r: { body: { value: Array<{ subject?: string }> } }) => r.body.value.map((e) => e.subject);
    expect(subjects(await get(`/users/${adele}/calendars/${travel.id}/events?$select=subject`))).toEqual(['flight']);
    expect(subjects(await get(`/users/${adele}/events?$select=subject&$top=100`))).toContain('standup');
    expect(subjects(await get(`/users/${adele}/events?$select=subject&$top=100`))).not.toContain('flight');

    const window = `startDateTime=${new Date(sim.clock.now() - 86_400_000).toISOString()}&endDateTime=${new Date(sim.clock.now() + 86_400_000).toISOString()}`;
    const first = await get(`/users/${adele}/calendars/${travel.id}/calendarView/delta?${window}`, IMMUTABLE);
    expect(first.status).toBe(200);
    expect(subjects(first)).toEqual(['flight']);
    const deflt = await get(`/users/${adele}/calendarView/delta?${window}`, IMMUTABLE);
    expect(subjects(deflt)).toContain('standup');
    expect(subjects(deflt)).not.toContain('flight');

    // A move: gone from the calendar it left (under the immutable id too), present in the one it went to.
    sim.moveEvent(adele, inDefault.id, travel.id);
    const travelNext = await call(sim, 'GET', first.body['@odata.deltaLink'], { token, headers: IMMUTABLE });
    expect(travelNext.body.value.map((e: { id: string }) => e.id)).toEqual([inDefault.immutableId]);
    const defaultNext = await call(sim, 'GET', deflt.body['@odata.deltaLink'], { token, headers: IMMUTABLE });
    expect(defaultNext.body.value).toEqual([
      expect.objectContaining({ id: inDefault.immutableId, '@removed': { reason: 'deleted' } }),
    ]);
    // A token of one calendar does not open another's round.
    const crossed = first.body['@odata.deltaLink'].replace(`/calendars/${travel.id}/`, '/');
    expect((await call(sim, 'GET', crossed, { token })).status).toBe(410);
  });

  it('names the calendar an event is in with $expand=calendar($select=id), whichever path reads it', async () => {
    const side = sim.addCalendar(adele, 'Side');
    const e = sim.createEvent(adele, { subject: 'aside' }, side.id);
    const defaultId = (await get(`/users/${adele}/calendar?$select=id`)).body.id;
    const read = await get(
      `/users/${adele}/events/${e.immutableId}?$select=subject&$expand=calendar($select=id)`,
      IMMUTABLE,
    );
    expect(read.body).toMatchObject({ id: e.immutableId, subject: 'aside', calendar: { id: side.id } });
    // Graph's docs do not say a read through another calendar is refused: graph-sim finds it, and says where it is.
    const through = await get(
      `/users/${adele}/calendars/${defaultId}/events/${e.immutableId}?$expand=calendar($select=id)`,
      IMMUTABLE,
    );
    expect(through.body.calendar).toEqual({ id: side.id });
    expect((await get(`/users/${adele}/events/${e.immutableId}?$expand=attachments`, IMMUTABLE)).status).toBe(400);
    // An occurrence is in its series' calendar.
    const series = sim.createEvent(
      adele,
      {
        subject: 'weekly',
        recurrence: {
          pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
          range: { type: 'numbered', startDate: '2026-12-07', numberOfOccurrences: 2 },
        },
      },
      side.id,
    );
    const instances = await get(
      `/users/${adele}/events/${series.immutableId}/instances?startDateTime=2026-12-01T00:00:00Z&endDateTime=2026-12-31T00:00:00Z`,
      IMMUTABLE,
    );
    const occurrence = instances.body.value[0].id as string;
    const ofOccurrence = await get(`/users/${adele}/events/${occurrence}?$expand=calendar($select=id)`, IMMUTABLE);
    expect(ofOccurrence.body).toMatchObject({ type: 'occurrence', calendar: { id: side.id } });
  });

  it('subscriptions: a calendar hears its own events, /users/{id}/events the default calendar only', async () => {
    const team = sim.addCalendar(adele, 'Team');
    const teamSub = await subscribe(sim, token, receiver, {
      userId: adele,
      resource: `/users/${adele}/calendars/${team.id}/events`,
    });
    const defaultSub = await subscribe(sim, token, receiver, { userId: adele });
    const inTeam = sim.createEvent(adele, { subject: 'team' }, team.id);
    const inDefault = sim.createEvent(adele, { subject: 'mine' });
    sim.moveEvent(adele, inDefault.id, team.id);
    await sim.settled();
    const heard = (subscriptionId: string) =>
      receiver
        .notifications()
        .filter((n) => n.subscriptionId === subscriptionId)
        .map((n) => [n.changeType, n.resourceData.id, n.resource]);
    expect(heard(teamSub.id)).toEqual([
      ['created', inTeam.immutableId, `Users/${adele}/Events/${inTeam.immutableId}`],
      ['created', inDefault.immutableId, `Users/${adele}/Events/${inDefault.immutableId}`],
    ]);
    expect(heard(defaultSub.id)).toEqual([
      ['created', inDefault.immutableId, `Users/${adele}/Events/${inDefault.immutableId}`],
      ['deleted', inDefault.immutableId, `Users/${adele}/Events/${inDefault.immutableId}`],
    ]);
    const missing = await call(sim, 'POST', '/v1.0/subscriptions', {
      token,
      json: {
        changeType: 'created',
        notificationUrl: receiver.url,
        resource: `/users/${adele}/calendars/AAMkNone=/events`,
        expirationDateTime: new Date(sim.clock.now() + 3_600_000).toISOString(),
      },
    });
    expect(missing.status).toBe(404);
  });

  it('removes a calendar with its events, silently; its delta answers 404', async () => {
    const old = sim.addCalendar(adele, 'Old');
    const e = sim.createEvent(adele, { subject: 'stale' }, old.id);
    expect(sim.removeCalendar(adele, old.id)).toEqual({ calendarId: old.id, events: 1 });
    expect((await get(`/users/${adele}/events/${e.immutableId}`, IMMUTABLE)).status).toBe(404);
    const window = `startDateTime=2020-01-01T00:00:00Z&endDateTime=2030-01-01T00:00:00Z`;
    expect((await get(`/users/${adele}/calendars/${old.id}/calendarView/delta?${window}`)).status).toBe(404);
    expect(() => sim.removeCalendar(adele, 'calendar')).toThrow(/default calendar/);
  });

  it('rooms: the Places API lists rooms and room lists; a booking is heard as created, updated, updated, updated', async () => {
    const tenant = sim.defaults.tenantId;
    const domain = sim.defaults.users[0]!.userPrincipalName.split('@')[1]!;
    sim.addRoomList(tenant, { displayName: 'Building 1', emailAddress: `bldg1@${domain}` });
    const room = sim.addUser(tenant, {
      userPrincipalName: `conf-1@${domain}`,
      userPurpose: 'room',
      roomList: `bldg1@${domain}`,
    });
    sim.addUser(tenant, { userPrincipalName: `conf-2@${domain}`, userPurpose: 'room' });
    sim.addUser(tenant, { userPrincipalName: `projector@${domain}`, userPurpose: 'equipment' });
    const rooms = await get('/places/microsoft.graph.room');
    expect(rooms.body.value.map((r: { emailAddress: string }) => r.emailAddress).sort()).toEqual([
      `conf-1@${domain}`,
      `conf-2@${domain}`,
    ]);
    expect(rooms.body.value[0].id).not.toBe(room.id);
    const lists = await get('/places/microsoft.graph.roomlist');
    expect(lists.body.value).toEqual([expect.objectContaining({ emailAddress: `bldg1@${domain}` })]);
    const inList = await get(`/places/bldg1@${domain}/microsoft.graph.roomlist/rooms`);
    expect(inList.body.value.map((r: { emailAddress: string }) => r.emailAddress)).toEqual([`conf-1@${domain}`]);
    expect((await get(`/places/nowhere@${domain}/microsoft.graph.roomlist/rooms`)).status).toBe(404);
    // A room's mailbox id comes from its address, as for any mailbox.
    expect((await get(`/users/conf-1@${domain}?$select=id`)).body.id).toBe(room.id);

    const sub = await subscribe(sim, token, receiver, { userId: room.id });
    const booking = sim.createEvent(room.id, { subject: 'booked' });
    await sim.settled();
    const heard = receiver.notifications().filter((n) => n.subscriptionId === sub.id);
    expect(heard.map((n) => [n.changeType, n.resourceData.id, n.resourceData['@odata.etag']])).toEqual(
      ['created', 'updated', 'updated', 'updated'].map((t) => [t, booking.immutableId, `W/"${booking.changeKey}"`]),
    );
  });
});
