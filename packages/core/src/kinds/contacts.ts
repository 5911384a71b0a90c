import { mailboxCollection, OUTLOOK, OUTLOOK_RICH_MINUTES, seg, selectQuery } from './mailbox-paths.ts';
import type { ResourceKind, Target } from './resource-kind.ts';

const user = (t: Target): string => t.userId ?? '';

/**
 * Outlook personal contacts of a mailbox's default contacts folder: `/users/{id}/contacts`. Resync reads
 * `/users/{id}/contacts/delta`: Graph documents contact delta per contact folder
 * (`contactFolders/{id}/contacts/delta`); the default folder's form is the one Microsoft's Q&A confirms works.
 * A contact moved to another folder leaves the default one, so delta's `@removed` is confirmed by a read.
 */
export const contacts: ResourceKind = {
  name: 'contacts',
  ...OUTLOOK,
  collection: 'contacts',
  permission: 'Contacts.Read',
  defaultTopic: 'graph.contacts',
  topicSetting: 'G2K_CONTACTS_TOPIC',
  idField: 'contactId',
  itemField: 'contact',
  defaultSelect: undefined,
  rich: {
    maxLifetimeMinutes: OUTLOOK_RICH_MINUTES,
    defaultSelect:
      'displayName,givenName,surname,emailAddresses,businessPhones,mobilePhone,companyName,jobTitle,categories,parentFolderId,changeKey,createdDateTime,lastModifiedDateTime',
  },
  reducible: [
    'photo',
    'extensions',
    'singleValueExtendedProperties',
    'multiValueExtendedProperties',
    'personalNotes',
    'children',
    'imAddresses',
  ],
  removalMeansGone: false,
  subscriptionResource: (t) => `/users/${user(t)}/contacts`,
  targetOf(resource) {
    const userId = mailboxCollection(resource, 'contacts');
    return userId ? { userId } : undefined;
  },
  readPath: (t, id, select) => `/users/${seg(user(t))}/contacts/${seg(id)}${selectQuery(select)}`,
  deltaScopes: (t, o) => [{ scope: '', initialPath: `/users/${seg(user(t))}/contacts/delta${selectQuery(o.select)}` }],
  recordKey: (tenantId, t, id) => `${tenantId.toLowerCase()}/${user(t).toLowerCase()}/contacts/${id}`,
  itemResource: (t, id) => `Users/${user(t)}/Contacts/${id}`,
};
