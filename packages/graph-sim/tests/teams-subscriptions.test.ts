import { constants, createDecipheriv, createHmac, privateDecrypt, X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';
import type { GraphSim } from '../src/index.ts';
import { call, futureIso, getToken, Receiver, startSim, waitFor, type CallResult } from './helpers.ts';

async function certificate(): Promise<{ der: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'teams rich test' }], {
    keySize: 2048,
    algorithm: 'sha256',
  });
  return { der: new X509Certificate(pems.cert).raw.toString('base64'), key: pems.private };
}

function decrypt(content: Record<string, string>, privateKeyPem: string): Record<string, unknown> {
  const key = privateDecrypt(
    { key: privateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    Buffer.from(content.dataKey!, 'base64'),
  );
  const data = Buffer.from(content.data!, 'base64');
  expect(createHmac('sha256', key).update(data).digest('base64')).toBe(content.dataSignature);
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  return JSON.parse(Buffer.concat([decipher.update(data), decipher.final()]).toString()) as Record<string, unknown>;
}

const LIFECYCLE_MESSAGE =
  'lifecycleNotificationUrl is a required property for subscription creation on this resource when the expirationDateTime value is set to greater than 1 hour.';

describe('Teams subscriptions', () => {
  let sim: GraphSim;
  let token: string;
  let receiver: Receiver;
  let tenant: string;
  beforeAll(async () => {
    sim = await startSim();
    token = await getToken(sim);
    receiver = await Receiver.start();
    tenant = sim.defaults.tenantId;
  });
  afterAll(async () => {
    await receiver.stop();
    await sim.stop();
  });

  const create = (resource: string, over: Record<string, unknown> = {}): Promise<CallResult> =>
    call(sim, 'POST', '/v1.0/subscriptions', {
      token,
      json: {
        changeType: 'created,updated,deleted',
        notificationUrl: receiver.url,
        lifecycleNotificationUrl: `${receiver.url}?lifecycle=1`,
        resource,
        expirationDateTime: futureIso(4_000, sim),
        clientState: 'teams-secret',
        ...over,
      },
    });
  const remove = (id: string) => call(sim, 'DELETE', `/v1.0/subscriptions/${id}`, { token });
  const newChannel = (name: string) => {
    const team = sim.addTeam(tenant, { displayName: name });
    return { teamId: team.id, channelId: sim.addChannel(team.id, { displayName: name }).id };
  };
  const refusals = () => sim.records.warnings.all().filter((w) => w.code === 'LifecycleNotificationUrlRequired').length;

  it('answers 404 for an unknown team, channel or chat, as for an unknown mailbox', async () => {
    const { teamId } = newChannel('known');
    for (const resource of [
      '/teams/4e1c5a7b-0000-4000-8000-000000000000/channels/19:abc@thread.tacv2/messages',
      `/teams/${teamId}/channels/19:${'0'.repeat(32)}@thread.tacv2/messages`,
      '/chats/19:nope@thread.v2/messages',
    ]) {
      const res = await create(resource);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('ResourceNotFound');
    }
  });

  it('refuses beyond 1 hour without a lifecycleNotificationUrl, with Graph message, and records each refusal', async () => {
    const { teamId, channelId } = newChannel('lifecycle');
    const resource = `/teams/${teamId}/channels/${encodeURIComponent(channelId)}/messages`;
    const before = refusals();
    const refused = await create(resource, {
      lifecycleNotificationUrl: undefined,
      expirationDateTime: futureIso(61, sim),
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'ValidationError', message: LIFECYCLE_MESSAGE });
    expect(refusals()).toBe(before + 1);
    expect(sim.subscriptions.all().filter((s) => s.resource === resource)).toEqual([]);

    const short = await create(resource, {
      lifecycleNotificationUrl: undefined,
      expirationDateTime: futureIso(55, sim),
    });
    expect(short.status).toBe(201);
    // Its renewal beyond an hour is refused the same way; within an hour it is fine.
    const renew = await call(sim, 'PATCH', `/v1.0/subscriptions/${short.body.id}`, {
      token,
      json: { expirationDateTime: futureIso(120, sim) },
    });
    expect(renew.status).toBe(400);
    expect(renew.body.error).toMatchObject({ code: 'ValidationError', message: LIFECYCLE_MESSAGE });
    expect(refusals()).toBe(before + 2);
    const ok = await call(sim, 'PATCH', `/v1.0/subscriptions/${short.body.id}`, {
      token,
      json: { expirationDateTime: futureIso(58, sim) },
    });
    expect(ok.status).toBe(200);
    await remove(short.body.id);

    const long = await create(resource, { expirationDateTime: futureIso(4_320, sim) });
    expect(long.status).toBe(201);
    await remove(long.body.id);
    expect(refusals()).toBe(before + 2);
  });

  it.each([
    ['/teams/getAllMessages', false],
    ['/chats/getAllMessages', false],
    ['/chats', false],
    ['/teams/getAllMessages', true],
  ])('caps %s (rich: %s) at 4,320 minutes', async (resource, rich) => {
    const cert = rich ? await certificate() : undefined;
    const extra = cert
      ? { includeResourceData: true, encryptionCertificate: cert.der, encryptionCertificateId: 'c' }
      : {};
    const changeType = resource === '/chats' ? 'created,updated' : 'created,updated,deleted';
    const over = await create(resource, { ...extra, changeType, expirationDateTime: futureIso(4_321, sim) });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toMatch(/4320 minutes/);
    const max = await create(resource, { ...extra, changeType, expirationDateTime: futureIso(4_319, sim) });
    expect(max.status).toBe(201);
    await remove(max.body.id);
  });

  it('takes created,updated on /chats and refuses deleted', async () => {
    const refused = await create('/chats', { changeType: 'created,updated,deleted' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/changeType 'deleted' is not supported for '\/chats'/);
    const ok = await create('/chats', { changeType: 'created,updated' });
    expect(ok.status).toBe(201);
    await remove(ok.body.id);
  });

  it('notifies each of the five resources of its own items only, in Graph resource forms', async () => {
    const a = newChannel('A');
    const b = newChannel('B');
    const x = sim.addChat(tenant, { chatType: 'group', topic: 'X' }).id;
    const y = sim.addChat(tenant, { chatType: 'group', topic: 'Y' }).id;
    const subs = {
      allChannels: (await create('/teams/getAllMessages')).body,
      channelA: (await create(`/teams('${a.teamId}')/channels('${a.channelId}')/messages`)).body,
      allChats: (await create('/chats/getAllMessages')).body,
      chatX: (await create(`/chats/${encodeURIComponent(x)}/messages`)).body,
      chats: (await create('/chats', { changeType: 'created,updated' })).body,
    };
    for (const s of Object.values(subs)) expect(s.id).toEqual(expect.any(String));
    const before = receiver.notifications().length;
    const rootA = sim.postChannelMessage(a.teamId, a.channelId, { subject: 's', body: { content: 'a' } }).id;
    const replyA = sim.replyToChannelMessage(a.teamId, a.channelId, rootA, { body: { content: 'r' } }).id;
    const rootB = sim.postChannelMessage(b.teamId, b.channelId, { body: { content: 'b' } }).id;
    const inX = sim.postChatMessage(x, { body: { content: 'x' } }).id;
    const inY = sim.postChatMessage(y, { body: { content: 'y' } }).id;
    const z = sim.addChat(tenant, { chatType: 'group', topic: 'Z' }).id;
    sim.renameChat(z, 'Z2');
    const refX = { chatId: x, messageId: inX };
    sim.editTeamsMessage(refX, { body: { content: 'x2' } });
    sim.softDeleteTeamsMessage(refX);
    sim.undoSoftDeleteTeamsMessage(refX);
    sim.purgeTeamsMessage(refX);
    await sim.settled();
    const got = receiver.notifications().slice(before);
    const of = (sub: { id: string }) =>
      got.filter((n) => n.subscriptionId === sub.id).map((n) => `${n.changeType} ${n.resource}`);

    const channelRes = (c: { teamId: string; channelId: string }, id: string) =>
      `teams('${c.teamId}')/channels('${c.channelId}')/messages('${id}')`;
    const replyRes = `${channelRes(a, rootA)}/replies('${replyA}')`;
    const xRes = `chats('${x}')/messages('${inX}')`;
    expect(of(subs.allChannels)).toEqual([
      `created ${channelRes(a, rootA)}`,
      `created ${replyRes}`,
      `created ${channelRes(b, rootB)}`,
    ]);
    expect(of(subs.channelA)).toEqual([`created ${channelRes(a, rootA)}`, `created ${replyRes}`]);
    const xChanges = ['created', 'updated', 'deleted', 'updated', 'deleted'].map((t) => `${t} ${xRes}`);
    expect(of(subs.allChats)).toEqual([
      ...xChanges.slice(0, 1),
      `created chats('${y}')/messages('${inY}')`,
      ...xChanges.slice(1),
    ]);
    expect(of(subs.chatX)).toEqual(xChanges);
    expect(of(subs.chats)).toEqual([`created chats('${z}')`, `updated chats('${z}')`]);

    const reply = got.find((n) => n.subscriptionId === subs.channelA.id && n.resource === replyRes);
    expect(reply).toEqual({
      id: expect.any(String),
      subscriptionId: subs.channelA.id,
      subscriptionExpirationDateTime: subs.channelA.expirationDateTime,
      changeType: 'created',
      resource: replyRes,
      resourceData: { id: replyA, '@odata.type': '#Microsoft.Graph.chatMessage', '@odata.id': replyRes },
      clientState: 'teams-secret',
      tenantId: tenant,
    });
    const chat = got.find((n) => n.subscriptionId === subs.chats.id);
    expect(chat.resourceData).toEqual({ id: z, '@odata.type': '#Microsoft.Graph.chat', '@odata.id': `chats('${z}')` });
    const chatMessage = got.find((n) => n.subscriptionId === subs.chatX.id);
    expect(chatMessage.resourceData).toEqual({
      id: inX,
      '@odata.type': '#Microsoft.Graph.chatMessage',
      '@odata.id': xRes,
    });
    for (const s of Object.values(subs)) await remove(s.id);
  });

  it('delivers a rich chat message that decrypts to the message as a GET returns it', async () => {
    const cert = await certificate();
    const chatId = sim.addChat(tenant, { chatType: 'group', topic: 'rich' }).id;
    const res = await create(`/chats/${encodeURIComponent(chatId)}/messages`, {
      includeResourceData: true,
      encryptionCertificate: cert.der,
      encryptionCertificateId: 'teams-cert',
    });
    expect(res.status).toBe(201);
    const before = receiver.posts().length;
    const posted = sim.postChatMessage(chatId, { body: { contentType: 'html', content: '<b>confidential</b>' } });
    await sim.settled();
    const post = await waitFor('a rich POST', () =>
      receiver
        .posts()
        .slice(before)
        .find((p) => p.body.validationTokens),
    );
    const n = post.body.value.find((v: { subscriptionId: string }) => v.subscriptionId === res.body.id);
    expect(n.encryptedContent.encryptionCertificateId).toBe('teams-cert');
    const read = await call(sim, 'GET', `/v1.0/chats/${encodeURIComponent(chatId)}/messages/${posted.id}`, { token });
    expect(decrypt(n.encryptedContent, cert.key)).toEqual(read.body);
    expect(read.body.body.content).toBe('<b>confidential</b>');
    // A purge leaves nothing to carry.
    sim.purgeTeamsMessage({ chatId, messageId: posted.id });
    await sim.settled();
    const purged = receiver.notifications().find((x) => x.subscriptionId === res.body.id && x.changeType === 'deleted');
    expect(purged).toBeDefined();
    expect(purged).not.toHaveProperty('encryptedContent');
    await remove(res.body.id);
  });

  it('sends reauthorizationRequired and subscriptionRemoved, never missed, and drops silently under the fault', async () => {
    const { teamId, channelId } = newChannel('faults');
    const res = await create(`/teams/${teamId}/channels/${encodeURIComponent(channelId)}/messages`);
    expect(res.status).toBe(201);
    const lifecycle = () =>
      receiver
        .posts()
        .filter((p) => p.query.get('lifecycle') === '1')
        .flatMap((p) => p.body.value as Array<{ subscriptionId: string; lifecycleEvent: string }>)
        .filter((v) => v.subscriptionId === res.body.id)
        .map((v) => v.lifecycleEvent);
    expect(() => sim.lifecycle(res.body.id, 'missed')).toThrow(/no missed/);
    sim.lifecycle(res.body.id, 'reauthorizationRequired');
    await sim.settled();
    expect(lifecycle()).toEqual(['reauthorizationRequired']);

    sim.setFaults({ silentDropRate: 1 });
    sim.postChannelMessage(teamId, channelId, { body: { content: 'lost' } });
    await sim.settled();
    sim.clearFaults();
    const records = sim.notifications({ subscriptionId: res.body.id, kind: 'change' });
    expect(records.map((r) => r.droppedReason)).toEqual(['silentDrop']);
    // Even a loss Graph would announce for Outlook brings no `missed` for Teams.
    sim.setFaults({ deliveryDropRate: 1 });
    sim.postChannelMessage(teamId, channelId, { body: { content: 'lost too' } });
    await sim.settled();
    sim.clearFaults();
    expect(sim.notifications({ subscriptionId: res.body.id, kind: 'change' }).map((r) => r.droppedReason)).toEqual([
      'silentDrop',
      'injectedDrop',
    ]);

    sim.lifecycle(res.body.id, 'subscriptionRemoved');
    await sim.settled();
    expect(lifecycle()).toEqual(['reauthorizationRequired', 'subscriptionRemoved']);
    expect(sim.subscriptions.byId(res.body.id)).toBeUndefined();
  });
});
