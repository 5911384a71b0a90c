// The JSON Schemas (2020-12) of every record graph2kafka writes, built from the same definitions the records
// are built from (the kinds' id and item fields, sources, lifecycle events), so that a kind added is a schema
// added. `pnpm docs:schemas` writes them to packages/core/schemas; a test keeps the files and this in step, and
// every record the test suite reads from Kafka is validated against them: a field added to a record and not
// here fails the suite.
import { KINDS, KIND_NAMES, type KindName, type ResourceKind } from '../kinds/index.ts';
import { RECORD_SCHEMA_VERSION, type RecordSource } from '../model/record.ts';
import { SCHEMA_BASE, schemaIdFor, schemaStem } from './schema-ids.ts';

export { SCHEMA_BASE } from './schema-ids.ts';

type Schema = Record<string, unknown>;

const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

const SOURCES: readonly RecordSource[] = ['notification', 'resync', 'repair', 'expansion', 'snapshot'];
const LIFECYCLE_EVENTS = ['missed', 'subscriptionRemoved', 'reauthorizationRequired'] as const;

const string = { type: 'string' };
const nullableString = { type: ['string', 'null'] };
const dateTime = { type: 'string', format: 'date-time' };
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' };
const lowerGuidish = { type: 'string', pattern: '^[0-9a-z-]+$' };

/** Graph's `dateTimeTimeZone`. */
const dateTimeTimeZone = {
  type: 'object',
  properties: { dateTime: string, timeZone: string },
  required: ['dateTime', 'timeZone'],
};
const emailAddress = {
  type: 'object',
  properties: {
    emailAddress: { type: 'object', properties: { name: nullableString, address: nullableString } },
  },
};

/**
 * A Teams chatMessage as Graph returns it. Hosted contents (inline images) stay behind their
 * `…/hostedContents/{id}/$value` URLs in `body.content`; attachments are references (`contentUrl`) or small cards.
 */
const TEAMS_MESSAGE = {
  id: string,
  replyToId: nullableString,
  etag: nullableString,
  messageType: string,
  createdDateTime: nullableDateTime,
  lastModifiedDateTime: nullableDateTime,
  lastEditedDateTime: nullableDateTime,
  deletedDateTime: nullableDateTime,
  subject: nullableString,
  chatId: nullableString,
  channelIdentity: {
    type: ['object', 'null'],
    properties: { teamId: string, channelId: string },
  },
  from: { type: ['object', 'null'] },
  body: {
    type: 'object',
    properties: { contentType: { enum: ['text', 'html'] }, content: nullableString },
  },
  attachments: { type: 'array', items: { type: 'object' } },
  mentions: { type: 'array', items: { type: 'object' } },
  reactions: { type: 'array', items: { type: 'object' } },
  webUrl: nullableString,
};

/**
 * What is stable of each kind's item: the properties its default read or `$select` returns, typed; everything
 * else a subscription's own `select` may add is allowed (Graph's resource, not ours). Only `id` is required: an
 * item seen outside its folder holds `id` and `parentFolderId` alone (an event outside its calendar, `id` and
 * `calendar`), and a rich item only what its `$select` says.
 */
const ITEM_PROPERTIES: Record<KindName, Record<string, unknown>> = {
  events: {
    id: string,
    subject: nullableString,
    type: { enum: ['singleInstance', 'occurrence', 'exception', 'seriesMaster'] },
    start: dateTimeTimeZone,
    end: dateTimeTimeZone,
    originalStart: nullableDateTime,
    isAllDay: { type: 'boolean' },
    isCancelled: { type: 'boolean' },
    seriesMasterId: nullableString,
    recurrence: { type: ['object', 'null'] },
    cancelledOccurrences: { type: 'array', items: string },
    // A calendar target's reads expand it to its id: the calendar the event is in.
    calendar: { type: ['object', 'null'], properties: { id: string } },
    organizer: emailAddress,
    attendees: { type: 'array', items: { type: 'object' } },
    changeKey: string,
    iCalUId: string,
    createdDateTime: dateTime,
    lastModifiedDateTime: dateTime,
  },
  messages: {
    id: string,
    subject: nullableString,
    parentFolderId: string,
    conversationId: string,
    internetMessageId: string,
    receivedDateTime: nullableDateTime,
    sentDateTime: nullableDateTime,
    isRead: { type: 'boolean' },
    isDraft: { type: 'boolean' },
    hasAttachments: { type: 'boolean' },
    from: emailAddress,
    sender: emailAddress,
    toRecipients: { type: 'array', items: emailAddress },
    changeKey: string,
    createdDateTime: dateTime,
    lastModifiedDateTime: dateTime,
  },
  contacts: {
    id: string,
    displayName: nullableString,
    givenName: nullableString,
    surname: nullableString,
    emailAddresses: { type: 'array', items: { type: 'object' } },
    parentFolderId: string,
    changeKey: string,
    createdDateTime: dateTime,
    lastModifiedDateTime: dateTime,
  },
  users: {
    id: string,
    displayName: nullableString,
    userPrincipalName: nullableString,
    mail: nullableString,
    givenName: nullableString,
    surname: nullableString,
    jobTitle: nullableString,
    department: nullableString,
    accountEnabled: { type: ['boolean', 'null'] },
  },
  groups: {
    id: string,
    displayName: nullableString,
    description: nullableString,
    mail: nullableString,
    mailEnabled: { type: ['boolean', 'null'] },
    securityEnabled: { type: ['boolean', 'null'] },
    groupTypes: { type: 'array', items: string },
    members: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: string, '@odata.type': string },
        required: ['id'],
      },
    },
  },
  channelMessages: TEAMS_MESSAGE,
  chatMessages: TEAMS_MESSAGE,
  chats: {
    id: string,
    topic: nullableString,
    chatType: { enum: ['oneOnOne', 'group', 'meeting', 'unknownFutureValue'] },
    createdDateTime: dateTime,
    lastUpdatedDateTime: nullableDateTime,
    tenantId: nullableString,
    webUrl: nullableString,
  },
};

/** The record's id fields: the kind's one `idField`, or its several (`teamId`, `channelId`, `messageId` …). */
const idProperties = (kind: ResourceKind): Record<string, unknown> =>
  Object.fromEntries((kind.idFields?.names ?? [kind.idField]).map((name) => [name, string]));

function itemSchema(kind: ResourceKind, occurrence: boolean): Schema {
  const properties = { ...ITEM_PROPERTIES[kind.name] };
  if (occurrence) {
    properties.type = { enum: ['occurrence', 'exception'] };
    // Graph's name of the occurrence, the one a master's cancelledOccurrences lists: OID.{master id}.{date}.
    properties.occurrenceId = { type: 'string', pattern: '^OID\\..+\\.\\d{4}-\\d{2}-\\d{2}$' };
  }
  return {
    description: `The Graph ${kind.itemField} as read (v1.0, immutable id), or null when none was read.`,
    type: ['object', 'null'],
    properties,
    required: ['id'],
  };
}

/** The value of a change record of one kind; for events also the occurrence records of the expansion. */
function changeSchema(kind: ResourceKind, occurrence = false): Schema {
  const mailbox = kind.scope === 'mailbox';
  const properties: Record<string, unknown> = {
    schemaVersion: { const: RECORD_SCHEMA_VERSION },
    kind: { const: kind.name },
    source: occurrence ? { const: 'expansion' } : { enum: SOURCES.filter((s) => s !== 'expansion') },
    changeType: { enum: ['created', 'updated', 'deleted'] },
    tenantId: lowerGuidish,
    ...(mailbox ? { userId: lowerGuidish } : {}),
    ...idProperties(kind),
    ...(kind.container ? { [kind.container.recordField]: string } : {}),
    resource: string,
    subscriptionId: string,
    notificationId: nullableString,
    subscriptionExpirationDateTime: nullableString,
    receivedAt: dateTime,
    enriched: { type: 'boolean' },
    notEnrichedReason: nullableString,
    gone: { type: 'boolean' },
    deleteConfirmed: { type: ['boolean', 'null'] },
    reducedProperties: { type: ['array', 'null'], items: string },
    ...(kind.container ? { outsideFolder: { const: true } } : {}),
    ...(occurrence ? { seriesMasterId: string } : {}),
    fromNotification: { const: true },
    ...(kind.softDeleted ? { softDeleted: { const: true } } : {}),
    [kind.itemField]: itemSchema(kind, occurrence),
  };
  const optional = new Set([
    'folderId',
    'calendarId',
    'outsideFolder',
    'fromNotification',
    'softDeleted',
    ...(kind.idFields?.optional ?? []),
  ]);
  return {
    $schema: SCHEMA_DIALECT,
    $id: schemaIdFor(kind.name, occurrence, 'value'),
    title: occurrence
      ? 'graph2kafka occurrence record (events, source "expansion")'
      : `graph2kafka ${kind.name} record`,
    description: `The value of a record on the ${kind.name} topic (docs/record-format.md). A tombstone (null value) follows a confirmed delete.`,
    type: 'object',
    properties,
    required: Object.keys(properties).filter((p) => !optional.has(p)),
    additionalProperties: false,
  };
}

const fileStem = (kind: KindName, occurrence: boolean): string => schemaStem(kind, occurrence, 'value');

/**
 * The value of a change record in the `debezium` format (G2K_VALUE_FORMAT): Debezium's envelope around the
 * record the `json` format writes (`after`, by reference to the kind's value schema), `before` the row's
 * identity or null (see format/debezium-format.ts).
 */
function debeziumSchema(kind: ResourceKind): Schema {
  const mailbox = kind.scope === 'mailbox';
  const identity = {
    kind: { const: kind.name },
    tenantId: lowerGuidish,
    ...(mailbox ? { userId: lowerGuidish } : {}),
    ...idProperties(kind),
  };
  const identityOptional = new Set(kind.idFields?.optional ?? []);
  const values = kind.name === 'events' ? [false, true] : [false];
  return {
    $schema: SCHEMA_DIALECT,
    $id: schemaIdFor(kind.name, false, 'debezium'),
    title: `graph2kafka ${kind.name} record, debezium format`,
    description: `The value of a record on the ${kind.name} topic with G2K_VALUE_FORMAT=debezium (docs/record-format.md). A tombstone (null value) follows each op "d".`,
    type: 'object',
    properties: {
      before: {
        description: 'The row before the change is not known: null for c and r, the row’s identity for u and d.',
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            properties: identity,
            required: Object.keys(identity).filter((k) => !identityOptional.has(k)),
            additionalProperties: false,
          },
        ],
      },
      after: {
        description: 'The record as the json format writes it; null for op "d".',
        oneOf: [
          { type: 'null' },
          ...values.map((occurrence) => ({ $ref: schemaIdFor(kind.name, occurrence, 'value') })),
        ],
      },
      op: { enum: ['c', 'u', 'd', 'r'] },
      source: {
        type: 'object',
        properties: {
          version: { const: String(RECORD_SCHEMA_VERSION) },
          connector: { const: 'graph2kafka' },
          name: { const: 'graph2kafka' },
          ts_ms: { type: 'integer' },
          snapshot: { enum: ['true', 'false'] },
          db: lowerGuidish,
          table: { const: kind.name },
          path: { enum: SOURCES },
          changeType: { enum: ['created', 'updated', 'deleted'] },
          notificationId: nullableString,
        },
        required: [
          'version',
          'connector',
          'name',
          'ts_ms',
          'snapshot',
          'db',
          'table',
          'path',
          'changeType',
          'notificationId',
        ],
        additionalProperties: false,
      },
      ts_ms: { type: 'integer' },
    },
    required: ['before', 'after', 'op', 'source', 'ts_ms'],
    additionalProperties: false,
  };
}

function lifecycleSchema(): Schema {
  const properties = {
    schemaVersion: { const: RECORD_SCHEMA_VERSION },
    lifecycleEvent: { enum: LIFECYCLE_EVENTS },
    tenantId: string,
    subscriptionId: string,
    subscriptionExpirationDateTime: nullableString,
    receivedAt: dateTime,
  };
  return {
    $schema: SCHEMA_DIALECT,
    $id: `${SCHEMA_BASE}lifecycle.value`,
    title: 'graph2kafka lifecycle record',
    description: 'The value of a record on the lifecycle topic: a verified Graph lifecycle notification.',
    type: 'object',
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
  };
}

function deadLetterSchema(): Schema {
  const properties = {
    schemaVersion: { const: RECORD_SCHEMA_VERSION },
    reason: string,
    error: { type: 'string', maxLength: 1_000 },
    kind: { enum: KIND_NAMES },
    source: { enum: SOURCES },
    topic: string,
    key: string,
    tenantId: string,
    userId: string,
    folderId: string,
    itemId: string,
    eventId: string,
    subscriptionId: string,
    changeType: { enum: ['created', 'updated', 'deleted'] },
    receivedAt: dateTime,
    deadLetteredAt: dateTime,
    notification: {
      description: 'The notification as Graph sent it, without its clientState; null for resync items.',
      type: ['object', 'null'],
      properties: {
        id: nullableString,
        subscriptionId: string,
        tenantId: string,
        changeType: string,
        resource: string,
        subscriptionExpirationDateTime: nullableString,
        // Never copied from the POST: whoever reads the topic must not learn a subscription's secret.
        clientState: false,
      },
    },
  };
  const optional = new Set(['folderId', 'eventId']);
  return {
    $schema: SCHEMA_DIALECT,
    $id: `${SCHEMA_BASE}dead-letter.value`,
    title: 'graph2kafka dead-letter record',
    description: 'The value of a record on the dead-letter topic: a change Kafka refused even reduced.',
    type: 'object',
    properties,
    required: Object.keys(properties).filter((p) => !optional.has(p)),
    additionalProperties: false,
  };
}

/** Every schema, by file name (`events.value.schema.json`, …). */
export function recordSchemas(): Record<string, Schema> {
  const schemas: Record<string, Schema> = {};
  for (const name of KIND_NAMES) schemas[`${fileStem(name, false)}.schema.json`] = changeSchema(KINDS[name]);
  schemas[`${fileStem('events', true)}.schema.json`] = changeSchema(KINDS.events, true);
  for (const name of KIND_NAMES)
    schemas[`${schemaStem(name, false, 'debezium')}.schema.json`] = debeziumSchema(KINDS[name]);
  schemas['lifecycle.value.schema.json'] = lifecycleSchema();
  schemas['dead-letter.value.schema.json'] = deadLetterSchema();
  return schemas;
}

/** Which schema file a record value is written under (null: a tombstone, which has none). */
export function schemaFileFor(value: Record<string, unknown>): string | undefined {
  if ('lifecycleEvent' in value) return 'lifecycle.value.schema.json';
  if ('op' in value && 'source' in value && typeof value.source === 'object' && value.source !== null) {
    const table = (value.source as Record<string, unknown>).table;
    return typeof table === 'string' && (KIND_NAMES as string[]).includes(table)
      ? `${schemaStem(table as KindName, false, 'debezium')}.schema.json`
      : undefined;
  }
  if ('deadLetteredAt' in value) return 'dead-letter.value.schema.json';
  const kind = value.kind;
  if (typeof kind !== 'string' || !(KIND_NAMES as string[]).includes(kind)) return undefined;
  return `${fileStem(kind as KindName, value.source === 'expansion')}.schema.json`;
}
