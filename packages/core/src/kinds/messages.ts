import {
  ITEM_ID,
  mailboxCollection,
  OUTLOOK,
  OUTLOOK_RICH_MINUTES,
  seg,
  selectQuery,
  withoutQuery,
} from './mailbox-paths.ts';
import type { ResourceKind, Target } from './resource-kind.ts';

const user = (t: Target): string => t.userId ?? '';

/** `select` with `field` in it (an undefined select reads every property already). */
const withField = (select: string | undefined, field: string): string | undefined =>
  select === undefined || select.split(',').some((p) => p.trim().toLowerCase() === field.toLowerCase())
    ? select
    : `${select},${field}`;

/**
 * What a message record carries unless the entry's `select` says otherwise: everything that identifies, routes
 * and classifies a message, without its body (large, and often more than a pipeline should copy). Add `body`
 * or `uniqueBody` to an entry's `select` to have it.
 */
const MESSAGE_SELECT = [
  'id',
  'createdDateTime',
  'lastModifiedDateTime',
  'changeKey',
  'categories',
  'receivedDateTime',
  'sentDateTime',
  'hasAttachments',
  'internetMessageId',
  'subject',
  'bodyPreview',
  'importance',
  'parentFolderId',
  'conversationId',
  'isRead',
  'isDraft',
  'webLink',
  'inferenceClassification',
  'sender',
  'from',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'flag',
].join(',');

/**
 * Outlook messages: a whole mailbox (`/users/{id}/messages`) or one folder (`/users/{id}/mailFolders/{id}/messages`).
 * Delta is per folder, so a mailbox-wide resync lists the folders first (`mailFolders/delta` flattens the
 * hierarchy). A message moved between folders keeps its immutable id and key; the folder it left reports a
 * `deleted` (and delta an `@removed`), which a read turns into "still exists" rather than a tombstone.
 */
export const messages: ResourceKind = {
  name: 'messages',
  ...OUTLOOK,
  collection: 'messages',
  permission: 'Mail.Read',
  defaultTopic: 'graph.mail.messages',
  topicSetting: 'G2K_MESSAGES_TOPIC',
  idField: 'messageId',
  itemField: 'message',
  defaultSelect: MESSAGE_SELECT,
  // Graph's rich notifications carry no body: the same properties, less what identifies nothing.
  rich: {
    maxLifetimeMinutes: OUTLOOK_RICH_MINUTES,
    defaultSelect: MESSAGE_SELECT.split(',')
      .filter((p) => p !== 'id')
      .join(','),
  },
  reducible: [
    'body',
    'uniqueBody',
    'attachments',
    'extensions',
    'singleValueExtendedProperties',
    'multiValueExtendedProperties',
    'internetMessageHeaders',
    'toRecipients',
    'ccRecipients',
    'bccRecipients',
    'bodyPreview',
  ],
  removalMeansGone: false,
  container: {
    field: 'parentFolderId',
    path: (t) => `/users/${seg(user(t))}/mailFolders/${seg(t.folderId ?? '')}?$select=id`,
    recordField: 'folderId',
    wholeIsFolder: false,
  },
  subscriptionResource: (t) =>
    t.folderId ? `/users/${user(t)}/mailFolders/${t.folderId}/messages` : `/users/${user(t)}/messages`,
  targetOf(resource) {
    const whole = mailboxCollection(resource, 'messages');
    if (whole) return { userId: whole };
    const m = /^\/?users\/([^/]+)\/mailFolders\/([^/]+)\/messages$/i.exec(withoutQuery(resource));
    if (!m || !ITEM_ID.test(m[2]!)) return undefined;
    return { userId: m[1]!.toLowerCase(), folderId: m[2]! };
  },
  // A folder target's reads always carry parentFolderId: it is what keeps them to the folder.
  readPath: (t, id, select) =>
    `/users/${seg(user(t))}/messages/${seg(id)}${selectQuery(t.folderId ? withField(select, 'parentFolderId') : select)}`,
  deltaScopes(t, o) {
    const folderScope = (folderId: string) => ({
      scope: folderId,
      initialPath: `/users/${seg(user(t))}/mailFolders/${seg(folderId)}/messages/delta${selectQuery(o.select ?? MESSAGE_SELECT)}`,
    });
    if (t.folderId) return [folderScope(t.folderId)];
    return { foldersPath: `/users/${seg(user(t))}/mailFolders/delta?$select=id,displayName`, scope: folderScope };
  },
  recordKey: (tenantId, t, id) => `${tenantId.toLowerCase()}/${user(t).toLowerCase()}/messages/${id}`,
  itemResource: (t, id) => `Users/${user(t)}/Messages/${id}`,
};
