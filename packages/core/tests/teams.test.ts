import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GraphSim } from '@graph2kafka/graph-sim';
import { recordValue as value, richEnv, TopicReader, type ReadRecord } from '@graph2kafka/testkit';
import { Collection, createEncryptionCertificate, syncCollection } from '../src/index.ts';
import { startPipeline, type Pipeline } from './served-pipeline.ts';

/**
 * Teams through the served app, real Kafka and graph-sim: one channel (basic), one chat (rich) and the
 * tenant's chats, kept by the subscription manager from a desired-state file.
 */
describe('Teams kinds end to end (served app, real Kafka, graph-sim)', () => {
  let sim: GraphSim;
  let pipe: Pipeline;
  let channelTopic: TopicReader;
  let chatTopic: TopicReader;
  let chatsTopic: TopicReader;
  let tenantId: string;
  let teamId: string;
  let channelId: string;
  let otherChannelId: string;
  let chatId: string;
  let otherChatId: string;

  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
    tenantId = sim.defaults.tenantId;
    teamId = sim.addTeam(tenantId, { displayName: 'Engineering' }).id;
    channelId = sim.addChannel(teamId, { displayName: 'General' }).id;
    otherChannelId = sim.addChannel(teamId, { displayName: 'Board' }).id;
    chatId = String(sim.addChat(tenantId, { chatType: 'group', topic: 'On call' }).id);
    otherChatId = String(sim.addChat(tenantId, { chatType: 'group', topic: 'Private' }).id);
    const file = join(tmpdir(), `g2k-teams-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        subscriptions: [
          { kind: 'channelMessages', channels: [`${teamId}/${channelId}`] },
          { kind: 'chatMessages', chats: [chatId], mode: 'rich' },
          { kind: 'chats' },
        ],
      }),
    );
    const cert = await createEncryptionCertificate('g2k-teams');
    pipe = await startPipeline(sim, { G2K_SUBSCRIPTIONS_FILE: file, ...richEnv(sim, cert) }, {}, { subscribe: true });
    const brokers = pipe.env.KAFKA_BROKERS!.split(',');
    [channelTopic, chatTopic, chatsTopic] = await Promise.all([
      TopicReader.start(brokers, pipe.topics.channelMessages),
      TopicReader.start(brokers, pipe.topics.chatMessages),
      TopicReader.start(brokers, pipe.topics.chats),
    ]);
  }, 60_000);

  afterAll(async () => {
    await channelTopic?.stop();
    await chatTopic?.stop();
    await chatsTopic?.stop();
    await pipe?.stop();
    await sim?.stop();
  });

  const channelKey = (id: string, root?: string): string =>
    `${tenantId}/teams/${teamId}/channels/${channelId}/messages/${root ? `${root}/replies/${id}` : id}`;
  const next = async (reader: TopicReader, key: string, from: number): Promise<ReadRecord> =>
    reader.waitForMatch((r) => r.key === key && reader.records.indexOf(r) >= from);
  /** Graph resource reads since `from`, each `$batch` item on its own (not tokens, keys or the subscription API). */
  const reads = (from: number): string[] =>
    sim.records.requests
      .all()
      .slice(from)
      .map((r) => (r.batchId ? r.path : r.path.replace(/^\/v1\.0(?=\/)/, '')))
      .filter(
        (path) =>
          path !== '/$batch' &&
          !path.startsWith('/subscriptions') &&
          (path.startsWith('/chats') || path.startsWith('/teams') || path.startsWith('/users')),
      );

  it('creates one subscription per channel, chat and the chats list, each with a lifecycle URL, within 4,320 minutes', async () => {
    const report = await pipe.app.manager!.reconcile();
    expect(report.errors).toEqual([]);
    expect(report.created).toHaveLength(3);
    const subs = (await pipe.app.subscriptions.list()).filter((s) => !s.pending);
    expect(subs.map((s) => s.resource).sort()).toEqual(
      ['/chats', `/chats/${chatId}/messages`, `/teams/${teamId}/channels/${channelId}/messages`].sort(),
    );
    for (const s of subs) {
      expect(s.lifecycleNotificationUrl).toBe(pipe.lifecycleUrl);
      expect(Date.parse(s.expirationDateTime) - Date.now()).toBeLessThanOrEqual(4_320 * 60_000);
      expect(Date.parse(s.expirationDateTime) - Date.now()).toBeGreaterThan(60 * 60_000);
    }
    // Graph refused nothing: no subscription beyond an hour was ever attempted without a lifecycle URL.
    expect(sim.records.warnings.all().filter((w) => w.code === 'LifecycleNotificationUrlRequired')).toEqual([]);
  });

  it("the timer's snapshot of the chat ends with its last page: the next runs do not list it again", async () => {
    const listings = (from: number) => reads(from).filter((p) => decodeURIComponent(p) === `/chats/${chatId}/messages`);
    // The reconcile that created the subscription ran its snapshot: one listing.
    expect(listings(0)).toHaveLength(1);
    const after = sim.records.requests.all().length;
    await pipe.app.manager!.resyncPending();
    await pipe.app.manager!.resyncPending();
    expect(listings(after)).toEqual([]);
  });

  it('a message, its reply and an edit of the reply: records keyed team/channel/message/reply', async () => {
    const from = channelTopic.records.length;
    const root = sim.postChannelMessage(teamId, channelId, { body: { content: 'deploy at 5?' }, subject: 'Release' });
    const rootRecord = await next(channelTopic, channelKey(root.id), from);
    expect(value(rootRecord)).toMatchObject({
      kind: 'channelMessages',
      source: 'notification',
      changeType: 'created',
      enriched: true,
      teamId,
      channelId,
      messageId: root.id,
      message: { id: root.id, replyToId: null, body: { content: 'deploy at 5?' } },
    });
    expect(value(rootRecord)).not.toHaveProperty('replyToId');
    const reply = sim.replyToChannelMessage(teamId, channelId, root.id, { body: { content: 'yes' } });
    const replyKey = channelKey(reply.id, root.id);
    expect(value(await next(channelTopic, replyKey, from))).toMatchObject({
      changeType: 'created',
      messageId: reply.id,
      replyToId: root.id,
      message: { replyToId: root.id, body: { content: 'yes' } },
    });
    const edited = channelTopic.records.length;
    sim.editTeamsMessage({ teamId, channelId, messageId: reply.id }, { body: { content: 'yes, at 5' } });
    const edit = await next(channelTopic, replyKey, edited);
    expect(value(edit)).toMatchObject({ changeType: 'updated', message: { body: { content: 'yes, at 5' } } });
    expect((value(edit).message as { lastEditedDateTime: unknown }).lastEditedDateTime).toEqual(expect.any(String));
  });

  it('a soft delete keeps the message (marked, no tombstone); a purge tombstones it', async () => {
    const root = sim.postChannelMessage(teamId, channelId, { body: { content: 'oops, wrong channel' } });
    const key = channelKey(root.id);
    await next(channelTopic, key, 0);
    const from = channelTopic.records.length;
    sim.softDeleteTeamsMessage({ teamId, channelId, messageId: root.id });
    const soft = await next(channelTopic, key, from);
    expect(soft.headers['g2k-soft-deleted']).toBe('true');
    expect(value(soft)).toMatchObject({
      changeType: 'deleted',
      gone: false,
      deleteConfirmed: false,
      softDeleted: true,
      message: { id: root.id, deletedDateTime: expect.any(String), body: { content: '' } },
    });
    const restored = channelTopic.records.length;
    sim.undoSoftDeleteTeamsMessage({ teamId, channelId, messageId: root.id });
    const undo = await next(channelTopic, key, restored);
    expect(value(undo)).toMatchObject({ changeType: 'updated', message: { deletedDateTime: null } });
    expect(value(undo)).not.toHaveProperty('softDeleted');
    const purgedAt = channelTopic.records.length;
    sim.purgeTeamsMessage({ teamId, channelId, messageId: root.id });
    const purged = await next(channelTopic, key, purgedAt);
    expect(value(purged)).toMatchObject({ changeType: 'deleted', gone: true, deleteConfirmed: true });
    const tombstone = await channelTopic.waitForMatch(
      (r) => r.key === key && r.value === null && channelTopic.records.indexOf(r) > purgedAt,
    );
    expect(tombstone.headers['g2k-tombstone']).toBe('true');
  });

  it('rich chat messages: created and edited with no Graph read; the soft delete is read', async () => {
    const before = sim.records.requests.all().length;
    const from = chatTopic.records.length;
    const msg = sim.postChatMessage(chatId, { body: { content: 'standup in 5' } });
    const key = `${tenantId}/chats/${chatId}/messages/${String(msg.id)}`;
    const created = await next(chatTopic, key, from);
    expect(value(created)).toMatchObject({
      kind: 'chatMessages',
      changeType: 'created',
      chatId,
      messageId: msg.id,
      fromNotification: true,
      message: { chatId, body: { content: 'standup in 5' } },
    });
    const edited = chatTopic.records.length;
    sim.editTeamsMessage({ chatId, messageId: String(msg.id) }, { body: { content: 'standup in 10' } });
    expect(value(await next(chatTopic, key, edited))).toMatchObject({
      changeType: 'updated',
      fromNotification: true,
      message: { body: { content: 'standup in 10' } },
    });
    expect(reads(before)).toEqual([]);
    const deleted = chatTopic.records.length;
    sim.softDeleteTeamsMessage({ chatId, messageId: String(msg.id) });
    expect(value(await next(chatTopic, key, deleted))).toMatchObject({ changeType: 'deleted', softDeleted: true });
    // The one read is of this message, in its chat.
    expect(reads(before).map(decodeURIComponent)).toEqual([`/chats/${chatId}/messages/${String(msg.id)}`]);
  });

  it('chats: a new chat and a new topic reach the chats topic', async () => {
    const from = chatsTopic.records.length;
    const chat = sim.addChat(tenantId, { chatType: 'group', topic: 'Incident 42' });
    const key = `${tenantId}/chats/${String(chat.id)}`;
    expect(value(await next(chatsTopic, key, from))).toMatchObject({
      kind: 'chats',
      changeType: 'created',
      chatId: chat.id,
      chat: { id: chat.id, topic: 'Incident 42' },
    });
    const renamed = chatsTopic.records.length;
    sim.renameChat(String(chat.id), 'Incident 42 (resolved)');
    expect(value(await next(chatsTopic, key, renamed))).toMatchObject({
      changeType: 'updated',
      chat: { topic: 'Incident 42 (resolved)' },
    });
  });

  it("a channel subscription's clientState naming another channel, team, chat or a mailbox produces nothing and reads nothing", async () => {
    const secret = sim.postChannelMessage(teamId, otherChannelId, { body: { content: 'board only' } });
    const privateMsg = sim.postChatMessage(otherChatId, { body: { content: 'private' } });
    const sub = (await pipe.app.subscriptions.list()).find((s) => s.resource.includes('/channels/'))!;
    const userId = sim.defaults.users[0]!.id;
    const mail = sim.createItem('messages', userId, { subject: 'payroll' });
    const otherTeam = sim.addTeam(tenantId, { displayName: 'Finance' }).id;
    const forged = [
      `teams('${teamId}')/channels('${otherChannelId}')/messages('${String(secret.id)}')`,
      `teams('${otherTeam}')/channels('${channelId}')/messages('${String(secret.id)}')`,
      `chats('${otherChatId}')/messages('${String(privateMsg.id)}')`,
      `Users/${userId}/Messages/${mail.immutableId}`,
    ];
    const before = sim.records.requests.all().length;
    const res = await fetch(pipe.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        value: forged.map((resource) => ({
          subscriptionId: sub.id,
          subscriptionExpirationDateTime: sub.expirationDateTime,
          changeType: 'updated',
          resource,
          clientState: sub.clientState,
          tenantId,
        })),
      }),
    });
    expect(res.status).toBe(202);
    await pipe.app.idle();
    expect(reads(before)).toEqual([]);
    for (const reader of [channelTopic, chatTopic]) {
      await reader.readToEnd();
      expect(reader.records.some((r) => r.value?.includes('board only') || r.value?.includes('private'))).toBe(false);
      expect(reader.records.some((r) => r.key?.includes(otherChannelId) || r.key?.includes(otherChatId))).toBe(false);
    }
  });

  it('a reply and a chat message edited while Graph dropped their notifications silently: the sweep heals both', async () => {
    const root = String(sim.postChannelMessage(teamId, channelId, { body: { content: 'thread' } }).id);
    const reply = String(sim.replyToChannelMessage(teamId, channelId, root, { body: { content: 'first' } }).id);
    const chatMessage = String(sim.postChatMessage(chatId, { body: { content: 'draft' } }).id);
    const replyKey = channelKey(reply, root);
    const chatKey = `${tenantId}/chats/${chatId}/messages/${chatMessage}`;
    await next(channelTopic, replyKey, 0);
    await next(chatTopic, chatKey, 0);
    // The sweep is due once a target's last round is sweepHours old: every round moved back past that.
    const states = new Collection(pipe.app.documents, syncCollection);
    const sweep = async (): Promise<void> => {
      for (const state of await states.list())
        await states.put({ ...state, updatedAt: new Date(Date.now() - 7 * 3_600_000).toISOString() });
      await pipe.app.manager!.resyncPending();
    };
    // A first sweep: channel delta now knows the thread, so the thread's next round shows it only if it changes.
    await sweep();
    // Graph loses these two edits without a word (Teams has no `missed`); the thread's top message is unchanged.
    sim.setFaults({ silentDropRate: 1 });
    sim.editTeamsMessage({ teamId, channelId, messageId: reply }, { body: { content: 'second' } });
    sim.editTeamsMessage({ chatId, messageId: chatMessage }, { body: { content: 'final' } });
    await sim.settled();
    sim.setFaults({ silentDropRate: 0 });
    const [channelFrom, chatFrom] = [channelTopic.records.length, chatTopic.records.length];
    const before = sim.records.requests.all().length;
    await sweep();
    // Delta had nothing: the thread's top message did not change (and so no replies were listed under it).
    expect(reads(before).some((p) => decodeURIComponent(p).endsWith(`/messages/${root}/replies`))).toBe(false);
    expect(value(await next(channelTopic, replyKey, channelFrom))).toMatchObject({
      source: 'resync',
      message: { body: { content: 'second' } },
    });
    expect(value(await next(chatTopic, chatKey, chatFrom))).toMatchObject({
      source: 'resync',
      message: { body: { content: 'final' } },
    });
    // Both listings read only what changed since their last round, not the whole team or chat.
    const listings = sim.records.requests
      .all()
      .slice(before)
      .filter((r) => /\/(getAllMessages|messages)$/.test(r.path) && !r.path.includes('/replies'));
    expect(listings.map((r) => new URLSearchParams(r.query).get('$filter'))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^lastModifiedDateTime gt /),
        expect.stringMatching(/^lastModifiedDateTime gt /),
      ]),
    );
    expect(listings.every((r) => new URLSearchParams(r.query).get('$filter') !== null)).toBe(true);
  });

  it('a subscription without a lifecycle URL is renewed for under an hour, never beyond (Graph would refuse it)', async () => {
    // As if created by an older version or another tool: neither graph2kafka's record nor Graph's has one.
    const record = (await pipe.app.subscriptions.list()).find((s) => s.resource === `/chats/${chatId}/messages`)!;
    Object.assign(sim.subscriptions.byId(record.id)!, { lifecycleNotificationUrl: undefined });
    await pipe.app.subscriptions.put({
      ...record,
      lifecycleNotificationUrl: undefined,
      expirationDateTime: new Date(Date.now() + 10 * 60_000).toISOString(),
    });
    const report = await pipe.app.manager!.reconcile();
    expect(report.errors).toEqual([]);
    expect(report.renewed).toEqual([record.id]);
    // graph-sim answers by its own clock, which this suite never moves: the same as this machine's.
    const renewed = sim.subscriptions.byId(record.id)!.expirationMs - sim.clock.now();
    expect(renewed).toBeGreaterThan(40 * 60_000);
    expect(renewed).toBeLessThanOrEqual(55 * 60_000);
    expect(sim.records.warnings.all().filter((w) => w.code === 'LifecycleNotificationUrlRequired')).toEqual([]);
    // A second run finds it not yet due: renewed within half its lifetime, not every run.
    expect((await pipe.app.manager!.reconcile()).renewed).toEqual([]);
  });

  it('a resync of the channel after Graph removed its subscription: the gap comes back by delta, replies with it', async () => {
    const sub = sim.subscriptions.all().find((s) => s.resource.includes(`/channels/`) && s.resource.includes(teamId))!;
    // Graph drops the subscription; what happens meanwhile is heard by no one.
    sim.removeSubscription(sub.id);
    const root = sim.postChannelMessage(teamId, channelId, { body: { content: 'while nobody listened' } });
    const reply = sim.replyToChannelMessage(teamId, channelId, root.id, { body: { content: 'me neither' } });
    const from = channelTopic.records.length;
    const report = await pipe.app.manager!.reconcile();
    expect(report.errors).toEqual([]);
    expect(report.recreated.length + report.created.length).toBe(1);
    await pipe.app.manager!.resyncPending();
    const rootRecord = await next(channelTopic, channelKey(root.id), from);
    expect(value(rootRecord)).toMatchObject({
      source: 'resync',
      message: { body: { content: 'while nobody listened' } },
    });
    const replyRecord = await next(channelTopic, channelKey(reply.id, root.id), from);
    expect(value(replyRecord)).toMatchObject({ source: 'resync', replyToId: root.id });
  });
});
