import { KINDS, type KindName } from '../kinds/index.ts';
import type { KafkaAuth, KafkaSettings, TopicSettings } from './config-types.ts';
import { shown, type EnvReader } from './env-reader.ts';
import { SETTINGS, type SettingName } from './settings.ts';

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

import { KAFKA_CLIENTS, type KafkaClientName } from './config-types.ts';

/** Kafka: brokers, TLS, SASL (incl. OAUTHBEARER token sources), the record size limit. */
export async function readKafka(r: EnvReader): Promise<KafkaSettings> {
  async function kafkaAuth(brokers: string[]): Promise<KafkaAuth | undefined> {
    const mechanism = r.env.KAFKA_SASL_MECHANISM?.trim().toLowerCase();
    if (!mechanism) return undefined;
    if (mechanism === 'plain' || mechanism === 'scram-sha-256' || mechanism === 'scram-sha-512')
      return {
        mechanism,
        username: r.text('KAFKA_SASL_USERNAME'),
        password: await r.secret('KAFKA_SASL_PASSWORD', true),
      };
    if (mechanism !== 'oauthbearer') {
      r.problems.push(
        `KAFKA_SASL_MECHANISM must be plain, scram-sha-256, scram-sha-512 or oauthbearer, got ${shown(mechanism)}.`,
      );
      return undefined;
    }
    const host = brokers[0]?.replace(/:\d+$/, '') ?? '';
    const guessed = host.endsWith('.servicebus.windows.net')
      ? 'entra'
      : host.includes('.managedkafka.')
        ? 'google'
        : '';
    const provider = r.env.KAFKA_OAUTH_PROVIDER?.trim().toLowerCase() || guessed;
    if (provider === 'google') return { mechanism, provider };
    if (provider !== 'entra') {
      r.problems.push(
        `KAFKA_OAUTH_PROVIDER must be entra (Azure Event Hubs) or google (Managed Service for Apache Kafka)${provider ? `, got ${shown(provider)}` : ' when KAFKA_SASL_MECHANISM=oauthbearer'}.`,
      );
      return undefined;
    }
    const identity = r.env.KAFKA_OAUTH_IDENTITY?.trim().toLowerCase() || 'app';
    if (identity !== 'app' && identity !== 'managed')
      r.problems.push(`KAFKA_OAUTH_IDENTITY must be app or managed, got ${shown(identity)}.`);
    const scope =
      r.env.KAFKA_OAUTH_SCOPE?.trim() || (host.endsWith('.servicebus.windows.net') ? `https://${host}/.default` : '');
    if (!scope) r.problems.push(`KAFKA_OAUTH_SCOPE is not set: ${SETTINGS.KAFKA_OAUTH_SCOPE.meaning}.`);
    const managedClientId = r.env.G2K_MANAGED_IDENTITY_CLIENT_ID?.trim();
    return {
      mechanism,
      provider,
      scope,
      identity: identity === 'managed' ? 'managed' : 'app',
      ...(managedClientId ? { managedClientId } : {}),
    };
  }

  const brokers = r
    .text('KAFKA_BROKERS')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const b of brokers)
    if (!/^[^:\s]+:\d{1,5}$/.test(b)) r.problems.push(`KAFKA_BROKERS entries must be host:port, got ${shown(b)}.`);
  const sslRaw = (r.env.KAFKA_SSL ?? 'false').trim().toLowerCase();
  if (!['true', 'false'].includes(sslRaw))
    r.problems.push(`KAFKA_SSL must be true or false, got ${shown(r.env.KAFKA_SSL)}.`);
  const sasl = await kafkaAuth(brokers);
  const sslClientCert = await (async () => {
    const [cert, key] = [await r.secret('KAFKA_SSL_CLIENT_CERT', false), await r.secret('KAFKA_SSL_CLIENT_KEY', false)];
    if (!cert && !key) return undefined;
    if (!cert || !key)
      r.problems.push('KAFKA_SSL_CLIENT_CERT and KAFKA_SSL_CLIENT_KEY go together: set both or neither.');
    return { cert, key };
  })();
  const loopbackOnly = brokers.every((b) => /^(localhost|127\.[\d.]+|\[::1\]):/.test(b));
  if (sslRaw !== 'true' && !loopbackOnly && (sasl?.mechanism === 'plain' || sasl?.mechanism === 'oauthbearer'))
    r.problems.push(
      `KAFKA_SASL_MECHANISM=${sasl.mechanism} sends its secret in clear text without TLS; set KAFKA_SSL=true (every managed Kafka needs it).`,
    );
  if (sslRaw !== 'true' && (r.env.KAFKA_SSL_CA_PEM || r.env.KAFKA_SSL_CA_FILE || sslClientCert))
    r.problems.push('KAFKA_SSL_CA_PEM, KAFKA_SSL_CA_FILE and client certificates need KAFKA_SSL=true.');

  const client = (r.env.KAFKA_CLIENT?.trim().toLowerCase() || 'kafkajs') as KafkaClientName;
  if (!KAFKA_CLIENTS.includes(client))
    r.problems.push(`KAFKA_CLIENT must be kafkajs or platformatic, got ${shown(r.env.KAFKA_CLIENT)}.`);
  return {
    brokers,
    client: KAFKA_CLIENTS.includes(client) ? client : 'kafkajs',
    clientId: r.text('KAFKA_CLIENT_ID', 'graph2kafka'),
    ssl: sslRaw === 'true',
    sslCaPem: (await r.secret('KAFKA_SSL_CA_PEM', false)) || r.file('KAFKA_SSL_CA_FILE'),
    sslClientCert,
    sasl,
    // Event Hubs refuses produce requests over 1,046,528 bytes; Kafka's default message.max.bytes is 1,048,588.
    maxRecordBytes: r.int('G2K_MAX_RECORD_BYTES', 1_000_000, 10_000, 100_000_000),
  };
}

/** A topic per resource kind, the lifecycle and the dead-letter topic: valid names, all different. */
export function readTopics(r: EnvReader): TopicSettings {
  const topicSettings: Record<string, SettingName> = {
    ...Object.fromEntries(Object.values(KINDS).map((k) => [k.name, k.topicSetting as SettingName])),
    lifecycle: 'G2K_LIFECYCLE_TOPIC',
    deadLetter: 'G2K_DEAD_LETTER_TOPIC',
  };
  const topics = {
    ...(Object.fromEntries(
      Object.values(KINDS).map((k) => [k.name, r.text(k.topicSetting as SettingName, k.defaultTopic)]),
    ) as Record<KindName, string>),
    lifecycle: r.text('G2K_LIFECYCLE_TOPIC', 'graph.subscription.lifecycle'),
    deadLetter: r.text('G2K_DEAD_LETTER_TOPIC', 'graph.calendar.deadletter'),
  };
  for (const [key, topic] of Object.entries(topics)) {
    if (!TOPIC.test(topic)) r.problems.push(`${topicSettings[key]} is not a valid Kafka topic name: '${topic}'.`);
  }
  if (new Set(Object.values(topics)).size !== Object.keys(topics).length)
    r.problems.push(`${Object.values(topicSettings).join(', ')} must be different topics.`);

  return topics;
}

/** A tenant GUID as long as any: a template's topics are checked with it. */
const SAMPLE_TENANT = '00000000-0000-0000-0000-000000000000';
const TEMPLATE_NAMES: readonly TopicName[] = [...(Object.keys(KINDS) as KindName[]), 'lifecycle', 'deadLetter'];

/**
 * G2K_TOPIC_TEMPLATE: `{kind}` is required (kinds in one topic would mix their schemas and keys), `{tenant}`
 * optional (a template without it only renames the per-kind topics); nothing else in braces, and every topic it
 * makes a valid name. It replaces the per-kind topic settings, so setting both is a mistake worth saying.
 */
export function readTopicTemplate(r: EnvReader): string | undefined {
  const template = r.env.G2K_TOPIC_TEMPLATE?.trim();
  if (!template) return undefined;
  const problems: string[] = [];
  if (!template.includes('{kind}')) problems.push('it must contain {kind}');
  const unknown = template.replaceAll('{kind}', '').replaceAll('{tenant}', '').match(/[{}]/);
  if (unknown) problems.push('only {kind} and {tenant} may appear in braces');
  else
    for (const name of TEMPLATE_NAMES) {
      const topic = template.replaceAll('{kind}', templateKind(name)).replaceAll('{tenant}', SAMPLE_TENANT);
      if (!TOPIC.test(topic)) {
        problems.push(`it makes '${topic}', not a valid Kafka topic name (letters, digits, ., _ and -, at most 249)`);
        break;
      }
    }
  const alsoSet = [
    ...Object.values(KINDS).map((k) => k.topicSetting),
    'G2K_LIFECYCLE_TOPIC',
    'G2K_DEAD_LETTER_TOPIC',
  ].filter((name) => r.env[name]?.trim());
  if (alsoSet.length) problems.push(`it replaces ${alsoSet.join(', ')}: unset them`);
  for (const p of problems) r.problems.push(`G2K_TOPIC_TEMPLATE: ${p}.`);
  return template;
}

/** G2K_VALUE_FORMAT and G2K_CLOUDEVENTS. */
export function readRecordFormat(r: EnvReader): { valueFormat: ValueFormatName; cloudEvents: CloudEventsMode } {
  const format = (r.env.G2K_VALUE_FORMAT?.trim().toLowerCase() || 'json') as ValueFormatName;
  if (!VALUE_FORMATS.includes(format))
    r.problems.push(`G2K_VALUE_FORMAT must be ${VALUE_FORMATS.join(' or ')}, got ${shown(r.env.G2K_VALUE_FORMAT)}.`);
  const ce = (r.env.G2K_CLOUDEVENTS?.trim().toLowerCase() || 'binary') as CloudEventsMode;
  if (!CLOUDEVENTS_MODES.includes(ce))
    r.problems.push(`G2K_CLOUDEVENTS must be ${CLOUDEVENTS_MODES.join(' or ')}, got ${shown(r.env.G2K_CLOUDEVENTS)}.`);
  return {
    valueFormat: VALUE_FORMATS.includes(format) ? format : 'json',
    cloudEvents: CLOUDEVENTS_MODES.includes(ce) ? ce : 'binary',
  };
}

/** How change records' values are written (G2K_VALUE_FORMAT); format/value-formats.ts has each one's writer. */
export const VALUE_FORMATS = ['json', 'debezium'] as const;
export type ValueFormatName = (typeof VALUE_FORMATS)[number];

/** CloudEvents binary-mode headers on every record (G2K_CLOUDEVENTS). */
export const CLOUDEVENTS_MODES = ['binary', 'off'] as const;
export type CloudEventsMode = (typeof CLOUDEVENTS_MODES)[number];

/** What a topic holds: one kind's change records, the lifecycle records, or the dead letters. */
export type TopicName = KindName | 'lifecycle' | 'deadLetter';

/** `{kind}`'s value per topic: the kinds' names, and `lifecycle`, `deadletter`. */
export const templateKind = (name: TopicName): string => (name === 'deadLetter' ? 'deadletter' : name);
