import type { GraphSim } from '@graph2kafka/graph-sim';
import type { ReadRecord, TopicReader } from './topic-reader.ts';

/** A team with a channel and a group chat in graph-sim, and the desired state that subscribes them. */
export interface TeamsPlace {
  tenantId: string;
  teamId: string;
  channelId: string;
  chatId: string;
  /** How each is subscribed. */
  modes: { channel: 'basic' | 'rich'; chat: 'basic' | 'rich' };
  /** Desired-state entries: the channel and the chat, each in its mode. */
  entries: Array<Record<string, unknown>>;
}

/** A new team with a channel, and a chat; by default the channel basic and the chat rich. */
export function teamsPlace(sim: GraphSim, modes: TeamsPlace['modes'] = { channel: 'basic', chat: 'rich' }): TeamsPlace {
  const tenantId = sim.defaults.tenantId;
  const teamId = sim.addTeam(tenantId, { displayName: 'Engineering' }).id;
  const channelId = sim.addChannel(teamId, { displayName: 'General' }).id;
  const chatId = String(sim.addChat(tenantId, { chatType: 'group', topic: 'On call' }).id);
  return {
    tenantId,
    teamId,
    channelId,
    chatId,
    modes,
    entries: [
      { kind: 'channelMessages', channels: [`${teamId}/${channelId}`], mode: modes.channel },
      { kind: 'chatMessages', chats: [chatId], mode: modes.chat },
    ],
  };
}

/** What the scenario did, and the last record of each key it touched once they arrived. */
export interface TeamsOutcome {
  modes: TeamsPlace['modes'];
  keys: { root: string; reply: string; chatMessage: string };
  /** Every record of each key, in order. */
  records: Record<'root' | 'reply' | 'chatMessage', ReadRecord[]>;
}

/**
 * The changes a Teams user makes, through whatever adapter serves the pipeline: a message in the channel, a
 * reply, an edit of the reply, a soft delete of the message and a purge of the reply; in the chat a message,
 * an edit and a soft delete. Waits until each key's records end as Graph now has it (the purged reply in a
 * tombstone).
 */
export async function runTeamsScenario(
  sim: GraphSim,
  place: TeamsPlace,
  topics: { channel: TopicReader; chat: TopicReader },
): Promise<TeamsOutcome> {
  const { tenantId, teamId, channelId, chatId } = place;
  const root = String(sim.postChannelMessage(teamId, channelId, { body: { content: 'release at 5' } }).id);
  const reply = String(sim.replyToChannelMessage(teamId, channelId, root, { body: { content: 'ok' } }).id);
  const chatMessage = String(sim.postChatMessage(chatId, { body: { content: 'standup' } }).id);
  await sim.settled();
  sim.editTeamsMessage({ teamId, channelId, messageId: reply }, { body: { content: 'ok, at 5' } });
  sim.editTeamsMessage({ chatId, messageId: chatMessage }, { body: { content: 'standup moved' } });
  await sim.settled();
  sim.softDeleteTeamsMessage({ teamId, channelId, messageId: root });
  sim.softDeleteTeamsMessage({ chatId, messageId: chatMessage });
  await sim.settled();
  sim.purgeTeamsMessage({ teamId, channelId, messageId: reply });
  const channel = `${tenantId}/teams/${teamId}/channels/${channelId}/messages`;
  const keys = {
    root: `${channel}/${root}`,
    reply: `${channel}/${root}/replies/${reply}`,
    chatMessage: `${tenantId}/chats/${chatId}/messages/${chatMessage}`,
  };
  await topics.channel.waitForMatch((r) => r.key === keys.reply && r.value === null);
  await topics.channel.waitForMatch((r) => r.key === keys.root && !!r.value?.includes('"softDeleted":true'));
  await topics.chat.waitForMatch((r) => r.key === keys.chatMessage && !!r.value?.includes('"softDeleted":true'));
  return {
    modes: place.modes,
    keys,
    records: {
      root: topics.channel.records.filter((r) => r.key === keys.root),
      reply: topics.channel.records.filter((r) => r.key === keys.reply),
      chatMessage: topics.chat.records.filter((r) => r.key === keys.chatMessage),
    },
  };
}
