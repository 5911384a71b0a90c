import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GraphSim } from '@graph2kafka/graph-sim';
import { brokersFromEnv } from '@graph2kafka/kafka-local';

export interface PipelineEnv {
  env: Record<string, string>;
  stateDir: string;
  topic: string;
  /** The topic of each resource kind (`events` is `topic`). */
  topics: {
    events: string;
    messages: string;
    contacts: string;
    users: string;
    groups: string;
    channelMessages: string;
    chatMessages: string;
    chats: string;
  };
  lifecycleTopic: string;
  deadLetterTopic: string;
  /** Deletes the folder of the CA file and the state store, once nothing uses them. */
  remove(): void;
}

let topicSeq = 0;

/** The Graph and login settings that point graph2kafka at graph-sim (its CA written to `caFile`). */
export function graphSimEnv(sim: GraphSim, caFile: string): Record<string, string> {
  return {
    GRAPH_BASE_URL: sim.urls.graph,
    AZURE_AUTHORITY_HOST: sim.urls.authority,
    AZURE_TENANT_ID: sim.defaults.tenantId,
    AZURE_CLIENT_ID: sim.defaults.clientId,
    AZURE_CLIENT_SECRET: sim.defaults.clientSecret,
    G2K_GRAPH_CA_FILE: caFile,
  };
}

/** The settings a graph2kafka function needs to run against graph-sim and the test broker, with fresh topics. */
export function pipelineEnv(sim: GraphSim, extra: Record<string, string> = {}): PipelineEnv {
  const dir = mkdtempSync(join(tmpdir(), 'g2k-pipeline-'));
  const caFile = join(dir, 'graph-sim-ca.pem');
  writeFileSync(caFile, sim.caCertPem);
  const stateDir = join(dir, 'state');
  const suffix = `${process.pid}-${Date.now()}-${topicSeq++}`;
  // With G2K_TOPIC_TEMPLATE the topics are the template's, and these name the home tenant's.
  const template = extra.G2K_TOPIC_TEMPLATE;
  const name = (kind: string): string =>
    template
      ? template.replaceAll('{kind}', kind).replaceAll('{tenant}', sim.defaults.tenantId)
      : `test.${kind}.${suffix}`;
  const topic = name('events');
  const lifecycleTopic = name('lifecycle');
  const deadLetterTopic = name('deadletter');
  const topics = {
    events: topic,
    messages: name('messages'),
    contacts: name('contacts'),
    users: name('users'),
    groups: name('groups'),
    channelMessages: name('channel-messages'),
    chatMessages: name('chat-messages'),
    chats: name('chats'),
  };
  const topicSettings: Record<string, string> = template
    ? {}
    : {
        G2K_TOPIC: topic,
        G2K_MESSAGES_TOPIC: topics.messages,
        G2K_CONTACTS_TOPIC: topics.contacts,
        G2K_USERS_TOPIC: topics.users,
        G2K_GROUPS_TOPIC: topics.groups,
        G2K_CHANNEL_MESSAGES_TOPIC: topics.channelMessages,
        G2K_CHAT_MESSAGES_TOPIC: topics.chatMessages,
        G2K_CHATS_TOPIC: topics.chats,
        G2K_LIFECYCLE_TOPIC: lifecycleTopic,
        G2K_DEAD_LETTER_TOPIC: deadLetterTopic,
      };
  return {
    remove: () => rmSync(dir, { recursive: true, force: true }),
    env: {
      ...graphSimEnv(sim, caFile),
      KAFKA_BROKERS: extra.KAFKA_BROKERS ?? brokersFromEnv().join(','),
      // CI runs the Kafka-facing tests once per producer library (KAFKA_CLIENT).
      ...(process.env.KAFKA_CLIENT ? { KAFKA_CLIENT: process.env.KAFKA_CLIENT } : {}),
      ...topicSettings,
      G2K_STATE_STORE: `file:${stateDir}`,
      ...extra,
    },
    stateDir,
    topic,
    topics,
    lifecycleTopic,
    deadLetterTopic,
  };
}

/** The rich-notification settings for a certificate (and, during a rotation, the previous one), keys inline. */
export function richEnv(
  sim: GraphSim,
  current: { id: string; certificate: string; privateKeyPem: string },
  previous?: { id: string; privateKeyPem: string },
): Record<string, string> {
  return {
    G2K_RICH_CERTIFICATE_ID: current.id,
    G2K_RICH_CERTIFICATE: current.certificate,
    G2K_RICH_PRIVATE_KEY: current.privateKeyPem,
    ...(previous
      ? { G2K_RICH_PREVIOUS_CERTIFICATE_ID: previous.id, G2K_RICH_PREVIOUS_PRIVATE_KEY: previous.privateKeyPem }
      : {}),
    G2K_RICH_JWKS_URL: `${sim.urls.authority}/common/discovery/v2.0/keys`,
  };
}
