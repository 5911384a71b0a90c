import { FABRIKAM_TENANT_ID, type GraphSim } from '../src/index.ts';
import { call, getToken, startSim, type CallResult } from './helpers.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

describe('Teams reads', () => {
  let sim: GraphSim;
  let token: string;
  let tenant: string;
  let adele: { id: string; displayName: string };
  beforeAll(async () => {
    sim = await startSim();
    token = await getToken(sim);
    tenant = sim.defaults.tenantId;
    adele = sim.defaults.users[0]!;
  });
  afterAll(async () => {
    await sim.stop();
  });

  const get = (path: string): Promise<CallResult> =>
    call(sim, 'GET', path.startsWith('http') ? path : `/v1.0${path}`, { token });
  const enc = encodeURIComponent;
  const channel = (name = 'General') => {
    const team = sim.addTeam(tenant, { displayName: `Team ${name}` });
    const c = sim.addChannel(team.id, { displayName: name });
    return { teamId: team.id, channelId: c.id, base: `/teams/${team.id}/channels/${enc(c.id)}/messages` };
  };

  it('returns a channel message as Graph shapes it, under encoded and plain channel ids', async () => {
    const { teamId, channelId, base } = channel();
    expect(channelId).toMatch(/^19:[0-9a-f]{32}@thread\.tacv2$/);
    const posted = sim.postChannelMessage(teamId, channelId, {
      subject: 'Release',
      body: { contentType: 'html', content: '<p>Ship it</p>' },
      from: adele.id,
      attachments: [{ contentType: 'reference', contentUrl: 'https://contoso.sharepoint.com/a.docx', name: 'a.docx' }],
    });
    const res = await get(`${base}/${posted.id}`);
    expect(res.status).toBe(200);
    const { '@odata.context': context, ...message } = res.body;
    expect(context).toBe(`${sim.urls.graph}/$metadata#teams('${teamId}')/channels('${channelId}')/messages/$entity`);
    expect(message).toEqual({
      id: posted.id,
      replyToId: null,
      etag: expect.stringMatching(/^\d+$/),
      messageType: 'message',
      createdDateTime: expect.any(String),
      lastModifiedDateTime: expect.any(String),
      lastEditedDateTime: null,
      deletedDateTime: null,
      subject: 'Release',
      summary: null,
      chatId: null,
      importance: 'normal',
      locale: 'en-us',
      webUrl: expect.stringContaining('https://teams.microsoft.com/l/message/'),
      policyViolation: null,
      eventDetail: null,
      from: {
        application: null,
        device: null,
        user: {
          '@odata.type': '#microsoft.graph.teamworkUserIdentity',
          id: adele.id,
          displayName: adele.displayName,
          userIdentityType: 'aadUser',
          tenantId: tenant,
        },
      },
      body: { contentType: 'html', content: '<p>Ship it</p>' },
      channelIdentity: { teamId, channelId },
      attachments: [
        {
          id: expect.any(String),
          contentType: 'reference',
          contentUrl: 'https://contoso.sharepoint.com/a.docx',
          content: null,
          name: 'a.docx',
          thumbnailUrl: null,
        },
      ],
      mentions: [],
      reactions: [],
    });
    // The id is the creation time in ms; the etag is the last change's.
    expect(Number(message.id)).toBe(Date.parse(message.createdDateTime));
    expect(message.etag).toBe(String(Date.parse(message.lastModifiedDateTime)));
    const plain = await get(`/teams/${teamId}/channels/${channelId}/messages/${posted.id}`);
    expect(plain.status).toBe(200);
    expect(plain.body.id).toBe(posted.id);
    const selected = await get(`${base}/${posted.id}?$select=subject,body`);
    expect(Object.keys(selected.body).sort()).toEqual(['@odata.context', 'body', 'id', 'subject']);
  });

  it('gives two posts in one millisecond different ids', () => {
    const { teamId, channelId } = channel();
    const ids = Array.from(
      { length: 5 },
      (_, i) => sim.postChannelMessage(teamId, channelId, { body: { content: `m${i}` } }).id,
    );
    expect(new Set(ids).size).toBe(5);
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
  });

  it('reads replies under their root only, and lists roots newest first in pages of $top', async () => {
    const { teamId, channelId, base } = channel();
    const roots = Array.from({ length: 5 }, (_, i) =>
      sim.postChannelMessage(teamId, channelId, { body: { content: `root ${i}` } }),
    );
    const reply = sim.replyToChannelMessage(teamId, channelId, roots[0]!.id, { body: { content: 're' } });
    expect(reply).toMatchObject({ replyToId: roots[0]!.id, subject: null, channelIdentity: { teamId, channelId } });
    expect((await get(`${base}/${roots[0]!.id}/replies/${reply.id}`)).body.body.content).toBe('re');
    // A reply is not a channel message of its own, nor a reply of another root.
    expect((await get(`${base}/${reply.id}`)).status).toBe(404);
    expect((await get(`${base}/${roots[1]!.id}/replies/${reply.id}`)).status).toBe(404);

    const seen: string[] = [];
    let next: string | undefined = `${base}?$top=2`;
    let pages = 0;
    while (next) {
      const page = await get(next);
      expect(page.status).toBe(200);
      expect(page.body.value.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.value.map((m: { id: string }) => m.id));
      next = page.body['@odata.nextLink'];
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(roots.map((r) => r.id).reverse());
    const replies = await get(`${base}/${roots[0]!.id}/replies`);
    expect(replies.body.value.map((m: { id: string }) => m.id)).toEqual([reply.id]);
    expect((await get(`${base}?$top=51`)).status).toBe(400);
    expect((await get(base)).body.value).toHaveLength(5);
  });

  it('soft-deletes (still readable, emptied), undoes, and hard-deletes (404 NotFound)', async () => {
    const { teamId, channelId, base } = channel();
    const m = sim.postChannelMessage(teamId, channelId, {
      body: { contentType: 'html', content: '<p>oops</p>' },
      attachments: [{ contentType: 'reference', contentUrl: 'https://x/y' }],
      hostedContents: [{ contentType: 'image/png', contentBytes: PNG.toString('base64') }],
    });
    const ref = { teamId, channelId, messageId: m.id };
    const deleted = sim.softDeleteTeamsMessage(ref);
    const read = await get(`${base}/${m.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      deletedDateTime: expect.any(String),
      body: { contentType: 'html', content: '' },
      attachments: [],
      mentions: [],
    });
    expect(read.body.etag).not.toBe(m.etag);
    expect(read.body.lastModifiedDateTime).toBe(deleted.lastModifiedDateTime);
    expect((await get(`${base}/${m.id}/hostedContents`)).body.value).toEqual([]);

    sim.undoSoftDeleteTeamsMessage(ref);
    const back = await get(`${base}/${m.id}`);
    expect(back.body.deletedDateTime).toBeNull();
    expect(back.body.body).toEqual(m.body);
    expect(back.body.attachments).toHaveLength(1);
    expect((await get(`${base}/${m.id}/hostedContents`)).body.value).toHaveLength(1);

    expect(sim.purgeTeamsMessage(ref)).toEqual({ purged: [m.id] });
    const gone = await get(`${base}/${m.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: 'NotFound', message: expect.any(String) });
  });

  it('purging a root takes its replies with it', async () => {
    const { teamId, channelId, base } = channel();
    const root = sim.postChannelMessage(teamId, channelId, { body: { content: 'root' } });
    const reply = sim.replyToChannelMessage(teamId, channelId, root.id, { body: { content: 're' } });
    expect(sim.purgeTeamsMessage({ teamId, channelId, messageId: root.id }).purged).toEqual([reply.id, root.id]);
    expect((await get(`${base}/${root.id}/replies/${reply.id}`)).status).toBe(404);
  });

  it('serves hosted contents by URL, not inline, for channel messages, replies and chat messages', async () => {
    const { teamId, channelId, base } = channel();
    const m = sim.postChannelMessage(teamId, channelId, {
      body: { contentType: 'html', content: '<p>look</p><img src="../hostedContents/1/$value">' },
      hostedContents: [{ contentType: 'image/png', contentBytes: PNG.toString('base64'), temporaryId: '1' }],
    });
    const list = await get(`${base}/${m.id}/hostedContents`);
    expect(list.status).toBe(200);
    expect(list.body.value).toEqual([{ id: expect.any(String), contentBytes: null, contentType: null }]);
    const hostedId = list.body.value[0].id;
    const url = `${sim.urls.graph}/teams/${teamId}/channels/${channelId}/messages/${m.id}/hostedContents/${hostedId}/$value`;
    expect((m.body as { content: string }).content).toBe(`<p>look</p><img src="${url}">`);
    const bytes = await get(url);
    expect(bytes.status).toBe(200);
    expect(bytes.headers['content-type']).toBe('image/png');
    expect(Buffer.from(bytes.text, 'latin1').length).toBe(PNG.length);
    expect((await get(`${base}/${m.id}/hostedContents/nope/$value`)).status).toBe(404);

    const reply = sim.replyToChannelMessage(teamId, channelId, m.id, {
      body: { content: 'see' },
      hostedContents: [{ contentType: 'image/gif', contentBytes: 'R0lGOA==' }],
    });
    // Without a placeholder the image is appended; the body turns html.
    expect(reply.body).toEqual({
      contentType: 'html',
      content: expect.stringMatching(
        new RegExp(
          `^see<img src="${sim.urls.graph.replace(/[.]/g, '\\.')}/teams/.+/messages/${m.id}/replies/${reply.id}/hostedContents/[^/]+/\\$value">$`,
        ),
      ),
    });
    const replyHosted = await get(`${base}/${m.id}/replies/${reply.id}/hostedContents`);
    expect(replyHosted.body.value).toHaveLength(1);

    const chat = sim.addChat(tenant, { chatType: 'group', topic: 'pics' });
    const cm = sim.postChatMessage(chat.id, {
      body: { contentType: 'html', content: 'x' },
      hostedContents: [{ contentType: 'image/png', contentBytes: PNG.toString('base64') }],
    });
    const src = /src="([^"]+)"/.exec((cm.body as { content: string }).content)![1]!;
    expect(src).toContain(`/chats/${chat.id}/messages/${cm.id}/hostedContents/`);
    expect((await get(src)).headers['content-type']).toBe('image/png');
  });

  it('lists chats and reads a chat and its messages, newest change first', async () => {
    const chat = sim.addChat(tenant, { chatType: 'group', topic: 'Planning', members: [adele.id] });
    expect(chat.id).toMatch(/^19:[0-9a-f]{32}@thread\.v2$/);
    const one = sim.addChat(tenant, { chatType: 'oneOnOne', members: sim.defaults.users.map((u) => u.id) });
    expect(one.id).toMatch(/^19:[0-9a-f-]{36}_[0-9a-f-]{36}@unq\.gbl\.spaces$/);
    const read = await get(`/chats/${enc(chat.id)}`);
    expect(read.body).toEqual({
      '@odata.context': `${sim.urls.graph}/$metadata#chats/$entity`,
      id: chat.id,
      topic: 'Planning',
      createdDateTime: expect.any(String),
      lastUpdatedDateTime: expect.any(String),
      chatType: 'group',
      webUrl: expect.any(String),
      tenantId: tenant,
    });
    const all: string[] = [];
    let next: string | undefined = '/chats?$top=1';
    while (next) {
      const page = await get(next);
      all.push(...page.body.value.map((c: { id: string }) => c.id));
      next = page.body['@odata.nextLink'];
    }
    expect(all).toEqual(expect.arrayContaining([chat.id, one.id]));
    const ids = [0, 1, 2].map((i) => sim.postChatMessage(chat.id, { body: { content: `c${i}` } }).id);
    sim.editTeamsMessage({ chatId: chat.id, messageId: ids[0]! }, { body: { content: 'edited' } });
    const msgs = await get(`/chats/${enc(chat.id)}/messages`);
    expect(msgs.body.value.map((m: { id: string }) => m.id)).toEqual([ids[0], ids[2], ids[1]]);
    expect(msgs.body.value[0]).toMatchObject({
      chatId: chat.id,
      channelIdentity: null,
      subject: null,
      lastEditedDateTime: expect.any(String),
      body: { contentType: 'text', content: 'edited' },
      from: { user: { id: adele.id } },
    });
    const page = await get(`/chats/${enc(chat.id)}/messages?$top=2`);
    expect(page.body.value).toHaveLength(2);
    const rest = await get(page.body['@odata.nextLink']);
    expect(rest.body.value.map((m: { id: string }) => m.id)).toEqual([ids[1]]);
    expect(rest.body['@odata.nextLink']).toBeUndefined();
    expect((await get(`/chats/${enc(chat.id)}/messages/${ids[1]}`)).body.body.content).toBe('c1');
  });

  it("filters a chat's messages and a team's messages of every channel by lastModifiedDateTime; refuses other filters", async () => {
    const chatId = String(sim.addChat(tenant, { chatType: 'group', topic: 'filters' }).id);
    const old = String(sim.postChatMessage(chatId, { body: { content: 'old' } }).id);
    const { teamId, channelId } = channel('Filters');
    const second = sim.addChannel(teamId, { displayName: 'Second' }).id;
    const root = String(sim.postChannelMessage(teamId, channelId, { body: { content: 'root' } }).id);
    const cut = new Date(sim.clock.now() + 5).toISOString();
    sim.clock.advance(10);
    const fresh = String(sim.postChatMessage(chatId, { body: { content: 'fresh' } }).id);
    sim.editTeamsMessage({ chatId, messageId: old }, { body: { content: 'old, edited' } });
    const reply = String(sim.replyToChannelMessage(teamId, channelId, root, { body: { content: 'reply' } }).id);
    const elsewhere = String(sim.postChannelMessage(teamId, second, { body: { content: 'other channel' } }).id);
    const since = enc(`lastModifiedDateTime gt ${cut}`);
    const chatPage = await get(`/chats/${enc(chatId)}/messages?$filter=${since}&$orderby=lastModifiedDateTime desc`);
    expect(chatPage.status).toBe(200);
    expect((chatPage.body.value as Array<{ id: string }>).map((m) => m.id)).toEqual([old, fresh]);
    const before = await get(`/chats/${enc(chatId)}/messages?$filter=${enc(`lastModifiedDateTime lt ${cut}`)}`);
    expect(before.body.value).toEqual([]);
    const team = await get(`/teams/${teamId}/channels/getAllMessages?$filter=${since}`);
    expect(team.status).toBe(200);
    // Two channels keep their own id counters: the two may share an id and a time, so their order is Graph's to pick.
    const listed = team.body.value as Array<{
      id: string;
      replyToId: string | null;
      channelIdentity: { channelId: string };
    }>;
    expect(listed.map((m) => [m.id, m.replyToId, m.channelIdentity.channelId]).sort()).toEqual(
      [
        [elsewhere, null, second],
        [reply, root, channelId],
      ].sort(),
    );
    expect((await get(`/teams/${teamId}/channels/getAllMessages`)).body.value).toHaveLength(3);
    for (const bad of [`subject eq 'x'`, `lastModifiedDateTime ge ${cut}`, `lastModifiedDateTime gt yesterday`])
      expect((await get(`/chats/${enc(chatId)}/messages?$filter=${enc(bad)}`)).status).toBe(400);
    expect((await get(`/chats/${enc(chatId)}/messages?$orderby=subject`)).status).toBe(400);
  });

  it('answers 404 NotFound for a deleted chat, team or channel and their messages', async () => {
    const chat = sim.addChat(tenant, { chatType: 'group', topic: 'bye' });
    const cm = sim.postChatMessage(chat.id, { body: { content: 'x' } });
    sim.deleteChat(chat.id);
    for (const path of [`/chats/${enc(chat.id)}`, `/chats/${enc(chat.id)}/messages/${cm.id}`]) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NotFound');
    }
    expect(sim.teamsState(tenant).chats.map((c) => c.chat.id)).not.toContain(chat.id);
    const a = channel('a');
    const am = sim.postChannelMessage(a.teamId, a.channelId, { body: { content: 'x' } });
    sim.deleteChannel(a.teamId, a.channelId);
    expect((await get(`${a.base}/${am.id}`)).status).toBe(404);
    expect((await get(`${a.base}/delta`)).status).toBe(404);
    const b = channel('b');
    const bm = sim.postChannelMessage(b.teamId, b.channelId, { body: { content: 'x' } });
    sim.deleteTeam(b.teamId);
    const res = await get(`${b.base}/${bm.id}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NotFound');
    // Another tenant's app sees none of this tenant's Teams.
    const other = await getToken(sim, undefined, undefined, FABRIKAM_TENANT_ID);
    const c = channel('c');
    const cmsg = sim.postChannelMessage(c.teamId, c.channelId, { body: { content: 'x' } });
    expect((await call(sim, 'GET', `/v1.0${c.base}/${cmsg.id}`, { token: other })).status).toBe(404);
  });

  it('delta: root messages only, first round then changes since, purged ones @removed, 410 on a bad token', async () => {
    const { teamId, channelId, base } = channel();
    const post = (content: string) => sim.postChannelMessage(teamId, channelId, { body: { content } }).id;
    const ref = (messageId: string) => ({ teamId, channelId, messageId });
    const [r0, r1, r2] = [post('r0'), post('r1'), post('r2')];
    sim.softDeleteTeamsMessage(ref(r0));
    const reply = sim.replyToChannelMessage(teamId, channelId, r1, { body: { content: 'reply' } }).id;

    const round = async (first: string): Promise<{ value: Record<string, unknown>[]; deltaLink: string }> => {
      const value: Record<string, unknown>[] = [];
      let next = first;
      for (;;) {
        const page = await get(next);
        expect(page.status).toBe(200);
        value.push(...page.body.value);
        if (page.body['@odata.deltaLink']) return { value, deltaLink: page.body['@odata.deltaLink'] };
        expect(page.body['@odata.nextLink']).toContain('$skiptoken=');
        next = page.body['@odata.nextLink'];
      }
    };
    const first = await round(`${base}/delta?$top=2`);
    expect(first.value.map((m) => m.id).sort()).toEqual([r0, r1, r2].sort());
    expect(first.value.find((m) => m.id === r0)).toMatchObject({ deletedDateTime: expect.any(String) });
    expect(first.deltaLink).toContain('$deltatoken=');

    const r3 = post('r3');
    sim.editTeamsMessage(ref(r1), { body: { content: 'r1 edited' } });
    sim.softDeleteTeamsMessage(ref(r2));
    sim.purgeTeamsMessage(ref(r0));
    // Reply changes never show in channel delta, nor bring their root.
    sim.editTeamsMessage(ref(reply), { body: { content: 'reply edited' } });
    sim.replyToChannelMessage(teamId, channelId, r3, { body: { content: 'reply 2' } });
    const second = await round(first.deltaLink);
    expect(second.value).toHaveLength(4);
    const byId = new Map(second.value.map((m) => [m.id, m]));
    expect(byId.get(r3)).toMatchObject({ body: { content: 'r3' } });
    expect(byId.get(r1)).toMatchObject({ body: { content: 'r1 edited' }, lastEditedDateTime: expect.any(String) });
    expect(byId.get(r2)).toMatchObject({ deletedDateTime: expect.any(String), body: { content: '' } });
    expect(byId.get(r0)).toEqual({ id: r0, '@removed': { reason: 'deleted' } });
    expect(byId.has(reply)).toBe(false);

    sim.editTeamsMessage(ref(reply), { body: { content: 'reply edited again' } });
    const third = await round(second.deltaLink);
    expect(third.value).toEqual([]);

    const bad = await get(`${base}/delta?$deltatoken=forged.token`);
    expect(bad.status).toBe(410);
    expect(bad.body.error.code).toBe('SyncStateNotFound');
    sim.invalidateChannelDelta(teamId, channelId);
    expect((await get(third.deltaLink)).status).toBe(410);
  });

  it('serves Teams reads through $batch (a hosted content base64-encoded) and applies injected faults', async () => {
    const { teamId, channelId } = channel();
    const m = sim.postChannelMessage(teamId, channelId, {
      body: { content: 'batched' },
      hostedContents: [{ contentType: 'image/png', contentBytes: PNG.toString('base64') }],
    });
    const hostedId = /hostedContents\/([^/]+)\/\$value/.exec((m.body as { content: string }).content)![1]!;
    const chat = sim.addChat(tenant, { chatType: 'group', topic: 'b' });
    const cm = sim.postChatMessage(chat.id, { body: { content: 'in chat' } });
    const path = `/teams/${teamId}/channels/${enc(channelId)}/messages/${m.id}`;
    const res = await call(sim, 'POST', '/v1.0/$batch', {
      token,
      json: {
        requests: [
          { id: '1', method: 'GET', url: path },
          { id: '2', method: 'GET', url: `/chats/${enc(chat.id)}/messages/${cm.id}?$select=body` },
          { id: '3', method: 'GET', url: `${path}/hostedContents/${hostedId}/$value` },
        ],
      },
    });
    expect(res.status).toBe(200);
    const byId = new Map(res.body.responses.map((r: { id: string }) => [r.id, r]));
    expect(byId.get('1')).toMatchObject({ status: 200, body: { id: m.id, subject: null } });
    expect(byId.get('2')).toMatchObject({ status: 200, body: { id: cm.id, body: { content: 'in chat' } } });
    expect(byId.get('3')).toMatchObject({ status: 200, body: PNG.toString('base64') });

    sim.addFaultRule({ status: 429, pathContains: `/chats/${chat.id}/messages`, retryAfterSeconds: 3 });
    const throttled = await get(`/chats/${enc(chat.id)}/messages/${cm.id}`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('3');
    expect((await get(`/chats/${enc(chat.id)}/messages/${cm.id}`)).status).toBe(200);
  });

  it('lists the tenant state for convergence checks: soft-deleted kept, purged left out', async () => {
    const { teamId, channelId } = channel('state');
    const keep = sim.postChannelMessage(teamId, channelId, { body: { content: 'keep' } });
    const soft = sim.postChannelMessage(teamId, channelId, { body: { content: 'soft' } });
    const purged = sim.postChannelMessage(teamId, channelId, { body: { content: 'purged' } });
    const reply = sim.replyToChannelMessage(teamId, channelId, keep.id, { body: { content: 're' } });
    sim.softDeleteTeamsMessage({ teamId, channelId, messageId: soft.id });
    sim.purgeTeamsMessage({ teamId, channelId, messageId: purged.id });
    const state = await call(sim, 'GET', `/_sim/tenants/${tenant}/teams`);
    expect(state.status).toBe(200);
    const ch = state.body.teams.find((t: { id: string }) => t.id === teamId).channels[0];
    expect(ch).toMatchObject({ id: channelId, displayName: 'state', membershipType: 'standard' });
    expect(ch.messages.map((m: { id: string }) => m.id)).toEqual([keep.id, soft.id]);
    expect(ch.messages[1].deletedDateTime).not.toBeNull();
    expect(ch.replies.map((m: { id: string }) => m.id)).toEqual([reply.id]);
  });
});

describe('Teams control API and seeding', () => {
  let sim: GraphSim;
  beforeAll(async () => {
    sim = await startSim({ seedTeams: true });
  });
  afterAll(async () => {
    await sim.stop();
  });
  const ctl = (method: string, path: string, json?: unknown) =>
    call(sim, method, `/_sim${path}`, json === undefined ? {} : { json });

  it('seeds a team with a channel and a chat per tenant when asked, none by default', async () => {
    const seeded = sim.teamsState(sim.defaults.tenantId);
    expect(seeded.teams).toHaveLength(1);
    expect(seeded.teams[0]!.channels.map((c) => c.displayName)).toEqual(['General']);
    expect(seeded.chats.map((c) => c.chat.chatType)).toEqual(['group']);
    const plain = await startSim();
    try {
      expect(plain.teamsState(plain.defaults.tenantId)).toEqual({ teams: [], chats: [] });
    } finally {
      await plain.stop();
    }
  });

  it('drives teams, channels, chats and messages over HTTP', async () => {
    const tenant = sim.defaults.tenantId;
    const team = await ctl('POST', `/tenants/${tenant}/teams`, { displayName: 'Ops' });
    expect(team.status).toBe(201);
    const channel = await ctl('POST', `/teams/${team.body.id}/channels`, { displayName: 'Alerts' });
    expect(channel.body).toMatchObject({ teamId: team.body.id, membershipType: 'standard' });
    const base = `/teams/${team.body.id}/channels/${encodeURIComponent(channel.body.id)}/messages`;
    const root = await ctl('POST', base, { body: 'disk full', subject: 'Alert', from: 'alex@contoso.onmicrosoft.com' });
    expect(root.status).toBe(201);
    expect(root.body).toMatchObject({ subject: 'Alert', body: { contentType: 'text', content: 'disk full' } });
    expect(root.body.from.user.displayName).toBe('Alex Wilber');
    const reply = await ctl('POST', `${base}/${root.body.id}/replies`, {
      body: { contentType: 'html', content: '<p>on it</p>' },
    });
    expect(reply.body.replyToId).toBe(root.body.id);
    const edited = await ctl('PATCH', `${base}/${reply.body.id}`, { body: 'fixed' });
    expect(edited.body).toMatchObject({ body: { content: 'fixed' }, lastEditedDateTime: expect.any(String) });
    expect((await ctl('POST', `${base}/${root.body.id}/softDelete`)).body.deletedDateTime).not.toBeNull();
    expect((await ctl('POST', `${base}/${root.body.id}/softDelete`)).status).toBe(409);
    expect((await ctl('POST', `${base}/${root.body.id}/undoSoftDelete`)).body.deletedDateTime).toBeNull();
    expect((await ctl('DELETE', `${base}/${reply.body.id}`)).body).toEqual({ purged: [reply.body.id] });
    expect((await ctl('POST', base, { bogus: 1 })).status).toBe(400);

    const chat = await ctl('POST', `/tenants/${tenant}/chats`, { chatType: 'group', topic: 'oncall' });
    expect(chat.body).toMatchObject({ chatType: 'group', topic: 'oncall', tenantId: tenant });
    const chatPath = `/chats/${encodeURIComponent(chat.body.id)}`;
    expect((await ctl('PATCH', chatPath, { topic: 'on-call' })).body.topic).toBe('on-call');
    const cm = await ctl('POST', `${chatPath}/messages`, { body: 'ping' });
    expect(cm.body).toMatchObject({ chatId: chat.body.id, channelIdentity: null });
    expect((await ctl('POST', `${chatPath}/messages`, { body: 'x', subject: 'no' })).status).toBe(400);
    const listed = await ctl('GET', `/tenants/${tenant}/chats`);
    expect(listed.body.value.find((c: { chat: { id: string } }) => c.chat.id === chat.body.id).messages).toHaveLength(
      1,
    );
    expect((await ctl('DELETE', chatPath)).status).toBe(200);
    expect((await ctl('POST', `${chatPath}/messages`, { body: 'late' })).status).toBe(404);
    expect((await ctl('DELETE', `/teams/${team.body.id}`)).status).toBe(200);
    expect((await ctl('GET', `/tenants/${tenant}/teams`)).body.teams.map((t: { id: string }) => t.id)).not.toContain(
      team.body.id,
    );
  });
});
