import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GraphSim } from '@graph2kafka/graph-sim';
import { recordValue, TopicReader } from '@graph2kafka/testkit';
import { startPipeline, type Pipeline } from './served-pipeline.ts';

const value = recordValue;

/**
 * One mailbox with events, messages of two folders, and contacts, kept by the subscription manager from a
 * desired-state file; every change reaches its kind's topic through the served app.
 */
describe('resource kinds end to end (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let messages: TopicReader;
  let contacts: TopicReader;
  let userId: string;
  let tenantId: string;

  beforeAll(async () => {
    // The week below jumps graph-sim's clock a day at a time; tokens are cached by the machine's clock, so
    // they live long enough in simulated time not to expire between two real seconds.
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 }, tokenLifetimeMinutes: { min: 20_000, max: 20_000 } });
    userId = sim.defaults.users[0]!.id;
    tenantId = sim.defaults.tenantId;
    const file = join(tmpdir(), `g2k-desired-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        subscriptions: [
          { kind: 'events', users: [userId] },
          { kind: 'messages', users: [userId], folders: ['inbox', 'archive'] },
          { kind: 'contacts', users: [userId], select: 'givenName,surname,emailAddresses,parentFolderId' },
        ],
      }),
    );
    // The manager judges expirations by Graph's clock, which the week below moves.
    pipe = await startPipeline(
      sim,
      { G2K_SUBSCRIPTIONS_FILE: file },
      { graphNow: () => sim.clock.now() },
      { subscribe: true },
    );
    const brokers = pipe.env.KAFKA_BROKERS!.split(',');
    messages = await TopicReader.start(brokers, pipe.topics.messages);
    contacts = await TopicReader.start(brokers, pipe.topics.contacts);
  }, 60_000);

  afterAll(async () => {
    await messages?.stop();
    await contacts?.stop();
    await pipe?.stop();
    await sim?.stop();
  });

  const inbox = () => sim.mailFolders(userId).find((f) => f.wellKnownName === 'inbox')!;
  const archive = () => sim.mailFolders(userId).find((f) => f.wellKnownName === 'archive')!;

  it('creates one subscription per kind and folder, and a second reconcile keeps all four', async () => {
    const first = await pipe.app.manager!.reconcile();
    expect(first.errors).toEqual([]);
    expect(first.created).toHaveLength(4);
    const subs = sim.subscriptions.forMailbox(userId);
    expect(subs.map((s) => `${s.kind}${s.folderId ? `:${s.folderId}` : ''}`).sort()).toEqual(
      ['contacts', 'events', `messages:${archive().id}`, `messages:${inbox().id}`].sort(),
    );
    const second = await pipe.app.manager!.reconcile();
    expect(second).toMatchObject({ created: [], deleted: [], recreated: [], errors: [], unchanged: 4 });
  });

  it('a message in the inbox: a messages record keyed tenant/user/messages/id, read with the default $select', async () => {
    const msg = sim.createItem('messages', userId, { subject: 'Quarterly numbers', body: '<p>secret figures</p>' });
    const [record] = await messages.waitFor(1);
    expect(record!.key).toBe(`${tenantId}/${userId}/messages/${msg.immutableId}`);
    expect(record!.headers['g2k-kind']).toBe('messages');
    expect(value(record)).toMatchObject({
      kind: 'messages',
      changeType: 'created',
      userId,
      messageId: msg.immutableId,
      // The folder as the desired state names it; the message says where it is filed.
      folderId: 'inbox',
      enriched: true,
      message: { id: msg.immutableId, subject: 'Quarterly numbers', parentFolderId: inbox().id },
    });
    // The default $select leaves the body out; the read asked for exactly that.
    expect(value(record).message).not.toHaveProperty('body');
    const read = sim.records.requests
      .all()
      .find((r) => decodeURIComponent(r.path).endsWith(`/messages/${msg.immutableId}`));
    expect(read?.query).toContain('%24select=');
    expect(decodeURIComponent(read!.query)).not.toMatch(/[=,]body(,|$)/);
  });

  it('a move between watched folders: "deleted" from the inbox without a tombstone, "created" in the archive', async () => {
    const msg = sim.createItem('messages', userId, { subject: 'to be filed' });
    const before = (await messages.waitFor(2)).length;
    sim.moveMessage(userId, msg.id, 'archive');
    const records = (await messages.waitFor(before + 2)).slice(before);
    const byType = Object.fromEntries(records.map((r) => [value(r).changeType as string, r]));
    // The archive is watched too: the inbox's record may carry the whole message, now filed there.
    expect(value(byType.deleted)).toMatchObject({
      deleteConfirmed: false,
      gone: false,
      folderId: 'inbox',
      message: { id: msg.immutableId, subject: 'to be filed', parentFolderId: archive().id },
    });
    expect(value(byType.deleted)).not.toHaveProperty('outsideFolder');
    expect(value(byType.created)).toMatchObject({
      folderId: 'archive',
      message: { id: msg.immutableId, parentFolderId: archive().id },
    });
    // Both keyed by the immutable id: one message, wherever it is filed.
    expect(new Set(records.map((r) => r.key))).toEqual(new Set([`${tenantId}/${userId}/messages/${msg.immutableId}`]));
    expect(records.some((r) => r.value === null)).toBe(false);
    await sim.settled();
  });

  it('a move to a folder nobody subscribed: the inbox hears it left, and where to, without its content', async () => {
    const msg = sim.createItem('messages', userId, { subject: 'spam after all' });
    await messages.waitForMatch((r) => value(r).messageId === msg.immutableId && value(r).changeType === 'created');
    sim.moveMessage(userId, msg.id, 'junkemail');
    const left = await messages.waitForMatch(
      (r) => value(r).messageId === msg.immutableId && value(r).changeType === 'deleted',
    );
    const junk = sim.mailFolders(userId).find((f) => f.wellKnownName === 'junkemail')!;
    expect(value(left)).toMatchObject({ folderId: 'inbox', outsideFolder: true, deleteConfirmed: false });
    expect(value(left).message).toEqual({ id: msg.immutableId, parentFolderId: junk.id });
    expect(left.headers['g2k-enriched']).toBe('true');
  });

  it('a folder subscription’s clientState cannot make graph2kafka publish a message of another folder', async () => {
    // The attacker holds the inbox subscription's secret and names a draft (never subscribed) as changed.
    const draft = sim.createItem('messages', userId, { subject: 'board memo (draft)' }, 'drafts');
    const inboxSub = sim.subscriptions.forMailbox(userId).find((s) => s.folderId === inbox().id)!;
    const record = (await pipe.app.subscriptions.list()).find((r) => r.id === inboxSub.id)!;
    const res = await fetch(pipe.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        value: [
          {
            subscriptionId: record.id,
            subscriptionExpirationDateTime: record.expirationDateTime,
            changeType: 'updated',
            resource: `Users/${userId}/Messages/${draft.immutableId}`,
            clientState: record.clientState,
            tenantId,
          },
        ],
      }),
    });
    expect(res.status).toBe(202);
    const forged = await messages.waitForMatch(
      (r) => value(r).messageId === draft.immutableId && value(r).source === 'notification',
    );
    expect(value(forged)).toMatchObject({ outsideFolder: true, folderId: 'inbox' });
    expect(value(forged).message).toEqual({ id: draft.immutableId, parentFolderId: expect.any(String) });
    await messages.readToEnd();
    expect(messages.records.some((r) => r.value?.includes('board memo'))).toBe(false);
  });

  it('a deleted message is tombstoned once Graph confirms it is gone', async () => {
    const before = messages.records.length;
    const [filed] = sim.listItems('messages', userId).filter((m) => m.folderId === archive().id);
    sim.deleteItem('messages', userId, filed!.id);
    const [deleted, tombstone] = (await messages.waitFor(before + 2)).slice(before);
    expect(value(deleted)).toMatchObject({ changeType: 'deleted', deleteConfirmed: true, gone: true });
    expect(tombstone).toMatchObject({ key: deleted!.key, value: null });
  });

  it('contacts: created, updated, deleted with the entry’s $select, and a tombstone', async () => {
    const c = sim.createItem('contacts', userId, { givenName: 'Adele', surname: 'Vance', jobTitle: 'Retail Manager' });
    const [created] = await contacts.waitFor(1);
    expect(created!.key).toBe(`${tenantId}/${userId}/contacts/${c.immutableId}`);
    expect(value(created)).toMatchObject({
      kind: 'contacts',
      contactId: c.immutableId,
      contact: { givenName: 'Adele' },
    });
    // jobTitle is outside the entry's select.
    expect(value(created).contact).not.toHaveProperty('jobTitle');
    sim.updateItem('contacts', userId, c.id, { surname: 'Vance-Smith' });
    const updated = (await contacts.waitFor(2))[1]!;
    expect(value(updated)).toMatchObject({ changeType: 'updated', contact: { surname: 'Vance-Smith' } });
    sim.deleteItem('contacts', userId, c.id);
    const [, , deleted, tombstone] = await contacts.waitFor(4);
    expect(value(deleted)).toMatchObject({ changeType: 'deleted', deleteConfirmed: true });
    expect(tombstone!.value).toBeNull();
  });

  it('events keep their records: eventId and event, keyed tenant/user/event', async () => {
    const e = sim.createEvent(userId, { subject: 'Standup' });
    const [record] = await pipe.reader.waitFor(1);
    expect(record!.key).toBe(`${tenantId}/${userId}/${e.immutableId}`);
    expect(value(record)).toMatchObject({ kind: 'events', eventId: e.immutableId, event: { subject: 'Standup' } });
  });

  it('subscriptions Graph dropped are recreated and their gap comes back by delta, per folder and for contacts', async () => {
    const subs = sim.subscriptions.forMailbox(userId);
    const inboxSub = subs.find((s) => s.kind === 'messages' && s.folderId === inbox().id)!;
    const contactsSub = subs.find((s) => s.kind === 'contacts')!;
    sim.removeSubscription(inboxSub.id);
    sim.removeSubscription(contactsSub.id);
    // Changed while nobody listened: no notification can bring these.
    const lostMessage = sim.createItem('messages', userId, { subject: 'while unsubscribed' });
    const lostContact = sim.createItem('contacts', userId, { givenName: 'Lost', surname: 'Contact' });
    const report = await pipe.app.manager!.reconcile();
    expect(report.errors).toEqual([]);
    expect(report.recreated).toHaveLength(2);
    expect(report.deleted).toEqual([]);
    const messageRecord = await messages.waitForMatch((r) => value(r).messageId === lostMessage.immutableId);
    expect(value(messageRecord)).toMatchObject({ source: 'resync', enriched: true, folderId: 'inbox' });
    const contactRecord = await contacts.waitForMatch((r) => value(r).contactId === lostContact.immutableId);
    expect(value(contactRecord)).toMatchObject({ source: 'resync', contact: { givenName: 'Lost' } });
    // The events and archive subscriptions were not touched by the others' recreation.
    expect(sim.subscriptions.byId(subs.find((s) => s.kind === 'events')!.id)).toBeDefined();
    expect(sim.subscriptions.byId(subs.find((s) => s.folderId === archive().id)!.id)).toBeDefined();
  });

  it('after missed, a resync of a folder confirms a removal by reading: a move out of it is no tombstone', async () => {
    const inboxSub = sim.subscriptions.forMailbox(userId).find((s) => s.folderId === inbox().id)!;
    const msg = sim.createItem('messages', userId, { subject: 'moved while missed' });
    await messages.waitForMatch((r) => value(r).messageId === msg.immutableId);
    await sim.settled();
    const before = messages.records.length;
    sim.setEndpointState(pipe.url, 'drop', 60_000);
    sim.moveMessage(userId, msg.id, 'archive');
    await pipe.app.manager!.lifecycle.handle('missed', inboxSub.id, Date.now() + 20_000);
    const resynced = (await messages.waitFor(before + 1)).slice(before).filter((r) => value(r).source === 'resync');
    const mine = resynced.filter((r) => value(r).messageId === msg.immutableId);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.value !== null)).toBe(true);
    expect(value(mine.at(-1))).toMatchObject({ changeType: 'updated', message: { parentFolderId: archive().id } });
    sim.setEndpointState(pipe.url, 'normal', 0);
  });

  it('a simulated week of daily timer runs keeps all four alive, none deleted by another’s reconcile, every change in Kafka', async () => {
    const kept = new Set(sim.subscriptions.forMailbox(userId).map((s) => s.id));
    expect(kept.size).toBe(4);
    const expected: Array<{ reader: TopicReader; id: string }> = [];
    let renewed = 0;
    for (let day = 1; day <= 7; day++) {
      sim.clock.advance(24 * 3_600_000);
      await sim.settled(20_000);
      const report = await pipe.app.manager!.reconcile();
      expect(report).toMatchObject({ errors: [], deleted: [], recreated: [], created: [] });
      renewed += report.renewed.length;
      const e = sim.createEvent(userId, { subject: `day ${day}` });
      const m = sim.createItem('messages', userId, { subject: `day ${day}` }, day % 2 ? 'inbox' : 'archive');
      const c = sim.createItem('contacts', userId, { givenName: `Day${day}` });
      expected.push(
        { reader: pipe.reader, id: e.immutableId },
        { reader: messages, id: m.immutableId },
        { reader: contacts, id: c.immutableId },
      );
    }
    for (const { reader, id } of expected)
      await reader.waitForMatch((r) => [value(r).eventId, value(r).messageId, value(r).contactId].includes(id));
    // Renewed (each at least once in seven days of a lifetime under seven days), never replaced.
    expect(renewed).toBeGreaterThanOrEqual(4);
    expect(new Set(sim.subscriptions.forMailbox(userId).map((s) => s.id))).toEqual(kept);
  }, 120_000);
});
