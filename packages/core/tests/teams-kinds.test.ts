import { parseDesiredState } from '../src/config/desired-state.ts';
import { EventFetcher } from '../src/graph/event-fetcher.ts';
import type { BatchItemRequest, GraphClient } from '../src/graph/graph-client.ts';
import { silentLogger } from '../src/index.ts';
import { KINDS, kindOfResource } from '../src/kinds/index.ts';
import { changeRecords, resyncRecords } from '../src/model/record.ts';
import { parseEnvelope } from '../src/receive/envelope.ts';
import { boundToSubscription, parseItemResource } from '../src/receive/resource.ts';

const TENANT = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
const TEAM = 'fbe2bf47-16c8-47cf-b4a5-4b9b187c508b';
const OTHER_TEAM = '0be2bf47-16c8-47cf-b4a5-4b9b187c5000';
const CHANNEL = '19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2';
const OTHER_CHANNEL = '19:0a95f7d8db4c4e7fae857bcebe062300@thread.tacv2';
const CHAT = '19:8ea0e38befb34757924a5f94061cf8c2@thread.v2';
const OTHER_CHAT = '19:00a0e38befb34757924a5f94061cf800@thread.v2';
const USER = '1d5c2b8a-7e3f-4c91-b6a0-2f8e9d4c7b15';

const { channelMessages, chatMessages, chats } = KINDS;
const sub = (kind: string, resource: string) => ({ kind: kind as never, userId: '', resource });

describe('Teams kinds: what a notification names, and whether a subscription covers it', () => {
  it('parses the OData forms Graph sends into one canonical id per message, reply, chat message and chat', () => {
    expect(
      parseItemResource(`teams('${TEAM.toUpperCase()}')/channels('${CHANNEL}')/messages('1612289765949')`),
    ).toEqual({
      collection: 'channelmessages',
      user: undefined,
      itemId: `teams/${TEAM}/channels/${CHANNEL}/messages/1612289765949`,
      dataId: '1612289765949',
    });
    expect(
      parseItemResource(`teams('${TEAM}')/channels('${CHANNEL}')/messages('1612289765949')/replies('1612289823474')`),
    ).toMatchObject({
      itemId: `teams/${TEAM}/channels/${CHANNEL}/messages/1612289765949/replies/1612289823474`,
      dataId: '1612289823474',
    });
    // The path form and Graph's absolute URL name the same message.
    expect(
      parseItemResource(`https://graph.microsoft.com/v1.0/teams/${TEAM}/channels/${CHANNEL}/messages/1612289765949`)
        ?.itemId,
    ).toBe(`teams/${TEAM}/channels/${CHANNEL}/messages/1612289765949`);
    expect(parseItemResource(`chats('${CHAT}')/messages('1612289765949')`)).toMatchObject({
      collection: 'chatmessages',
      itemId: `chats/${CHAT}/messages/1612289765949`,
    });
    expect(parseItemResource(`chats('${CHAT}')`)).toMatchObject({ collection: 'chats', itemId: `chats/${CHAT}` });
  });

  it('refuses ids Graph does not issue: paths, quotes, a team that is no GUID, a message id that is no number', () => {
    for (const bad of [
      `teams('not-a-guid')/channels('${CHANNEL}')/messages('1')`,
      `teams('${TEAM}')/channels('../users')/messages('1')`,
      `teams('${TEAM}')/channels('${CHANNEL}')/messages('AAMk=')`,
      `teams('${TEAM}')/channels('${CHANNEL}')/messages('1')/replies('x/y')`,
      `chats('users/${USER}')/messages('1')`,
      `chats('${CHAT}')/messages('1')/replies('2')`,
      `chats('${CHAT}%2F..')`,
      // Graph's message ids are milliseconds: no leading zero, so no second spelling of one id.
      `teams('${TEAM}')/channels('${CHANNEL}')/messages('01612289765949')`,
    ])
      expect(parseItemResource(bad)).toBeUndefined();
  });

  it("a per-channel subscription covers only its channel's messages and replies", () => {
    const s = sub('channelMessages', `/teams/${TEAM}/channels/${CHANNEL}/messages`);
    const named = (r: string) => parseItemResource(r)!;
    expect(boundToSubscription(named(`teams('${TEAM}')/channels('${CHANNEL}')/messages('1')`), s, TENANT)).toBe(true);
    expect(
      boundToSubscription(named(`teams('${TEAM}')/channels('${CHANNEL}')/messages('1')/replies('2')`), s, TENANT),
    ).toBe(true);
    // Another channel of the team, the same channel id under another team, a chat, a mailbox: not covered.
    expect(boundToSubscription(named(`teams('${TEAM}')/channels('${OTHER_CHANNEL}')/messages('1')`), s, TENANT)).toBe(
      false,
    );
    expect(boundToSubscription(named(`teams('${OTHER_TEAM}')/channels('${CHANNEL}')/messages('1')`), s, TENANT)).toBe(
      false,
    );
    expect(boundToSubscription(named(`chats('${CHAT}')/messages('1')`), s, TENANT)).toBe(false);
    expect(boundToSubscription(named(`Users/${USER}/Messages/AAMkAD=`), s, TENANT)).toBe(false);
  });

  it('a tenant-wide chats subscription never covers a channel; per-chat ones stay in their chat', () => {
    const named = (r: string) => parseItemResource(r)!;
    const allChats = sub('chatMessages', '/chats/getAllMessages');
    const oneChat = sub('chatMessages', `/chats/${CHAT}/messages`);
    const chatList = sub('chats', '/chats');
    const channelMessage = named(`teams('${TEAM}')/channels('${CHANNEL}')/messages('1')`);
    expect(boundToSubscription(named(`chats('${OTHER_CHAT}')/messages('1')`), allChats, TENANT)).toBe(true);
    expect(boundToSubscription(channelMessage, allChats, TENANT)).toBe(false);
    expect(boundToSubscription(named(`chats('${CHAT}')/messages('1')`), oneChat, TENANT)).toBe(true);
    expect(boundToSubscription(named(`chats('${OTHER_CHAT}')/messages('1')`), oneChat, TENANT)).toBe(false);
    expect(boundToSubscription(named(`chats('${CHAT}')`), chatList, TENANT)).toBe(true);
    expect(boundToSubscription(named(`chats('${CHAT}')/messages('1')`), chatList, TENANT)).toBe(false);
    expect(boundToSubscription(channelMessage, sub('channelMessages', '/teams/getAllMessages'), TENANT)).toBe(true);
    expect(
      boundToSubscription(
        named(`chats('${CHAT}')/messages('1')`),
        sub('channelMessages', '/teams/getAllMessages'),
        TENANT,
      ),
    ).toBe(false);
  });

  it("resourceData.id must be the named message's own id", () => {
    const base = {
      subscriptionId: 's1',
      tenantId: TENANT,
      clientState: 'x',
      changeType: 'created',
      resource: `teams('${TEAM}')/channels('${CHANNEL}')/messages('1')/replies('2')`,
    };
    const ok = parseEnvelope(Buffer.from(JSON.stringify({ value: [{ ...base, resourceData: { id: '2' } }] })));
    const forged = parseEnvelope(Buffer.from(JSON.stringify({ value: [{ ...base, resourceData: { id: '1' } }] })));
    expect(ok.ok && ok.items[0]!.kind).toBe('change');
    expect(forged.ok && forged.items[0]).toMatchObject({ kind: 'unusable', reason: 'unknown_resource' });
  });
});

describe('Teams kinds: subscriptions, reads, keys and records', () => {
  it('maps subscription resources to targets and back', () => {
    expect(kindOfResource('/teams/getAllMessages')).toEqual({ kind: channelMessages, target: {} });
    expect(kindOfResource(`/teams/${TEAM}/channels/${CHANNEL}/messages`)).toEqual({
      kind: channelMessages,
      target: { folderId: `teams/${TEAM}/channels/${CHANNEL}` },
    });
    expect(kindOfResource('/chats/getAllMessages')).toEqual({ kind: chatMessages, target: {} });
    expect(kindOfResource(`/chats/${CHAT}/messages`)?.target).toEqual({ folderId: `chats/${CHAT}` });
    expect(kindOfResource('/chats')?.kind).toBe(chats);
    expect(channelMessages.subscriptionResource({ folderId: `teams/${TEAM}/channels/${CHANNEL}` })).toBe(
      `/teams/${TEAM}/channels/${CHANNEL}/messages`,
    );
    expect(chatMessages.subscriptionResource({})).toBe('/chats/getAllMessages');
  });

  it('reads through the id path, keys by tenant and path, and names the resource as Graph does', () => {
    const reply = `teams/${TEAM}/channels/${CHANNEL}/messages/1/replies/2`;
    expect(channelMessages.readPath({}, reply, undefined)).toBe(
      `/teams/${TEAM}/channels/19%3A4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2/messages/1/replies/2`,
    );
    expect(channelMessages.recordKey(TENANT.toUpperCase(), {}, reply)).toBe(`${TENANT}/${reply}`);
    expect(channelMessages.itemResource({}, reply)).toBe(
      `teams('${TEAM}')/channels('${CHANNEL}')/messages('1')/replies('2')`,
    );
    expect(chatMessages.readPath({}, `chats/${CHAT}/messages/7`, undefined)).toBe(
      `/chats/19%3A8ea0e38befb34757924a5f94061cf8c2%40thread.v2/messages/7`,
    );
  });

  it('places a listed or delta item by its own channel identity and reply-to id', () => {
    const target = { folderId: `teams/${TEAM}/channels/${CHANNEL}` };
    const channelIdentity = { teamId: TEAM, channelId: CHANNEL };
    expect(channelMessages.itemIdOf!(target, { id: '5', replyToId: null, channelIdentity })).toBe(
      `teams/${TEAM}/channels/${CHANNEL}/messages/5`,
    );
    expect(channelMessages.itemIdOf!(target, { id: '6', replyToId: '5', channelIdentity })).toBe(
      `teams/${TEAM}/channels/${CHANNEL}/messages/5/replies/6`,
    );
    // A delta removal carries its id alone: it is a top-level message of the target's channel.
    expect(channelMessages.itemIdOf!(target, { id: '7', '@removed': { reason: 'deleted' } })).toBe(
      `teams/${TEAM}/channels/${CHANNEL}/messages/7`,
    );
    expect(chatMessages.itemIdOf!({}, { id: '8', chatId: CHAT })).toBe(`chats/${CHAT}/messages/8`);
  });

  it('a reply record carries team, channel, its id and its root; a soft delete is marked, not tombstoned', () => {
    const reply = `teams/${TEAM}/channels/${CHANNEL}/messages/1/replies/2`;
    const item = {
      id: '2',
      replyToId: '1',
      deletedDateTime: '2026-12-04T10:00:00Z',
      lastModifiedDateTime: '2026-12-04T10:00:00Z',
      body: { contentType: 'html', content: '' },
    };
    const r = changeRecords(
      {
        source: 'notification',
        changeType: 'deleted',
        kind: 'channelMessages',
        tenantId: TENANT,
        target: {},
        itemId: reply,
        resource: channelMessages.itemResource({}, reply),
        subscriptionId: 's1',
      },
      { kind: 'found', item },
      Date.now(),
    );
    expect(r.records).toHaveLength(1);
    expect(r.records[0]!.key).toBe(`${TENANT}/${reply}`);
    expect(r.records[0]!.headers['g2k-soft-deleted']).toBe('true');
    expect(r.value).toMatchObject({
      kind: 'channelMessages',
      teamId: TEAM,
      channelId: CHANNEL,
      messageId: '2',
      replyToId: '1',
      softDeleted: true,
      gone: false,
      deleteConfirmed: false,
      message: item,
    });
    expect(r.value).not.toHaveProperty('userId');
    // Gone from Graph (a purge): the deleted record and its tombstone.
    const purged = resyncRecords(
      {
        kind: 'channelMessages',
        tenantId: TENANT,
        target: { folderId: `teams/${TEAM}/channels/${CHANNEL}` },
        subscriptionId: 's1',
      },
      { id: '1', '@removed': { reason: 'deleted' } },
      undefined,
      Date.now(),
    );
    expect(purged.records.map((x) => [x.key, x.value === null])).toEqual([
      [`${TENANT}/teams/${TEAM}/channels/${CHANNEL}/messages/1`, false],
      [`${TENANT}/teams/${TEAM}/channels/${CHANNEL}/messages/1`, true],
    ]);
  });

  it('states the rules Graph imposes: 4,320 minutes, one hour without a lifecycle URL, no missed', () => {
    for (const kind of [channelMessages, chatMessages, chats]) {
      expect(kind.maxLifetimeMinutes).toBe(4_320);
      expect(kind.rich?.maxLifetimeMinutes).toBe(4_320);
      expect(kind.withoutLifecycleUrlMinutes).toBe(60);
      expect(kind.lifecycleEvents).not.toContain('missed');
    }
    expect(chats.changeTypes).toEqual(['created', 'updated']);
    // Delta: per channel only, with the team's listing of changed messages for its replies; chats list their
    // messages, from the last round on; the tenant-wide ones have none.
    const options = { pastDays: 0, futureDays: 0, now: Date.parse('2026-12-04T12:00:00Z'), select: undefined };
    expect(channelMessages.deltaScopes({}, options)).toEqual([]);
    const channelScopes = channelMessages.deltaScopes({ folderId: `teams/${TEAM}/channels/${CHANNEL}` }, options);
    expect(channelScopes).toEqual([
      { scope: 'messages', initialPath: `/teams/${TEAM}/channels/${encodeURIComponent(CHANNEL)}/messages/delta` },
      expect.objectContaining({
        scope: 'replies',
        listing: true,
        initialPath: `/teams/${TEAM}/channels/getAllMessages?$top=50&$filter=lastModifiedDateTime%20gt%202026-12-04T11%3A50%3A00.000Z`,
      }),
    ]);
    const replies = (channelScopes as Array<{ keep?: (item: Record<string, unknown>) => boolean }>)[1]!.keep!;
    expect(replies({ id: '2', replyToId: '1', channelIdentity: { teamId: TEAM, channelId: CHANNEL } })).toBe(true);
    expect(replies({ id: '1', replyToId: null, channelIdentity: { teamId: TEAM, channelId: CHANNEL } })).toBe(false);
    expect(replies({ id: '2', replyToId: '1', channelIdentity: { teamId: TEAM, channelId: OTHER_CHANNEL } })).toBe(
      false,
    );
    const [chat] = chatMessages.deltaScopes({ folderId: `chats/${CHAT}` }, options) as Array<{
      initialPath: string;
      listing?: boolean;
      since?: (from: string) => string;
    }>;
    expect(chat).toMatchObject({ initialPath: `/chats/${encodeURIComponent(CHAT)}/messages?$top=50`, listing: true });
    expect(decodeURIComponent(chat!.since!('2026-12-04T11:50:00.000Z'))).toBe(
      `/chats/${CHAT}/messages?$top=50&$filter=lastModifiedDateTime gt 2026-12-04T11:50:00.000Z&$orderby=lastModifiedDateTime desc`,
    );
  });
});

describe('Teams kinds in the desired state', () => {
  const parse = (entries: unknown[]) => {
    const problems: string[] = [];
    const desired = parseDesiredState(JSON.stringify({ subscriptions: entries }), 'f', TENANT, problems);
    return { desired, problems };
  };

  it('channels and chats name one subscription each; without them the entry is tenant-wide', () => {
    const { desired, problems } = parse([
      { kind: 'channelMessages', channels: [`${TEAM.toUpperCase()}/${CHANNEL}`] },
      { kind: 'chatMessages', chats: [CHAT], mode: 'rich' },
      { kind: 'chats' },
    ]);
    expect(problems).toEqual([]);
    expect(desired.map((d) => d.containers)).toEqual([[`teams/${TEAM}/channels/${CHANNEL}`], [`chats/${CHAT}`], []]);
  });

  it('says what is wrong with a bad reference, a misplaced field, users on a Teams kind, or deleted chats', () => {
    const { problems } = parse([
      { kind: 'channelMessages', channels: [CHANNEL] },
      { kind: 'channelMessages', channels: [`${TEAM}/${CHANNEL.toUpperCase()}`] },
      { kind: 'chatMessages', chats: [CHAT], mode: 'rich', select: 'body' },
      { kind: 'chatMessages', channels: [`${TEAM}/${CHANNEL}`] },
      { kind: 'channelMessages', users: [USER] },
      { kind: 'chats', changeTypes: ['deleted'] },
    ]);
    expect(problems).toEqual([
      expect.stringContaining('channels must be a list of "{team id}/{channel id}"'),
      expect.stringContaining('channels must be a list of "{team id}/{channel id}"'),
      expect.stringContaining('chatMessages takes no select or richRead'),
      expect.stringContaining('channels apply to channelMessages only'),
      expect.stringContaining('channelMessages has no mailboxes: leave out users, groups and rooms, and name channels'),
      expect.stringContaining('changeTypes must list created, updated'),
    ]);
  });
});

describe('Teams kinds: a read must be the message its id named', () => {
  /** A Graph that answers every read of a `$batch` with `item`. */
  const answering = (item: Record<string, unknown>) =>
    ({
      batch: (_tenant: string, requests: BatchItemRequest[]) =>
        Promise.resolve(requests.map((r) => ({ id: r.id, status: 200, body: item }))),
    }) as unknown as GraphClient;
  const channelIdentity = { teamId: TEAM, channelId: CHANNEL };
  const read = (item: Record<string, unknown>, itemId: string) =>
    new EventFetcher(answering(item), { maxInFlight: 1, logger: silentLogger }).fetchItem(
      TENANT,
      channelMessages,
      { folderId: `teams/${TEAM}/channels/${CHANNEL}` },
      itemId,
      undefined,
      Date.now() + 2_000,
    );

  it('the message itself, read by its own id: found', async () => {
    const item = { id: '5', replyToId: null, channelIdentity };
    expect(await read(item, `teams/${TEAM}/channels/${CHANNEL}/messages/5`)).toEqual({ kind: 'found', item });
  });

  it('a reply read as if it were a top-level message, or a message of another channel: no item under that id', async () => {
    // Were Graph to answer these, the record would open a second key for one message, never tombstoned.
    expect(
      await read({ id: '6', replyToId: '5', channelIdentity }, `teams/${TEAM}/channels/${CHANNEL}/messages/6`),
    ).toEqual({ kind: 'gone' });
    expect(
      await read(
        { id: '5', replyToId: null, channelIdentity: { teamId: TEAM, channelId: OTHER_CHANNEL } },
        `teams/${TEAM}/channels/${CHANNEL}/messages/5`,
      ),
    ).toEqual({ kind: 'gone' });
  });
});
