import { seg, selectQuery } from './mailbox-paths.ts';
import type { KindName, ResourceKind } from './resource-kind.ts';

/**
 * What the directory kinds (users, groups) share: one subscription per tenant (`/users`, `/groups`); Graph
 * reports creates and soft deletes as `updated` and a permanent delete as `deleted` (`created` is not accepted);
 * 41,760 minutes at most; of the lifecycle events only `reauthorizationRequired`, so a lost notification is
 * caught up by the kind's delta after graph2kafka replaces the subscription. A delta `@removed` may be a soft
 * delete (restorable for 30 days), so a read decides; `Request_ResourceNotFound` is Graph's "no such object".
 */
function directoryKind(o: {
  name: KindName;
  collection: string;
  permission: string;
  topic: string;
  topicSetting: string;
  idField: string;
  itemField: string;
  select: string;
  relations?: ResourceKind['relations'];
  reducible?: readonly string[];
}): ResourceKind {
  return {
    name: o.name,
    scope: 'tenant',
    collection: o.collection,
    permission: o.permission,
    changeTypes: ['updated', 'deleted'],
    defaultChangeTypes: ['updated', 'deleted'],
    maxLifetimeMinutes: 41_760,
    lifecycleEvents: ['reauthorizationRequired'],
    defaultTopic: o.topic,
    topicSetting: o.topicSetting,
    idField: o.idField,
    itemField: o.itemField,
    defaultSelect: o.select,
    reducible: o.reducible ?? [],
    ...(o.relations ? { relations: o.relations } : {}),
    goneCodes: ['Request_ResourceNotFound'],
    removalMeansGone: false,
    subscriptionResource: () => `/${o.collection}`,
    targetOf: (resource) => (new RegExp(`^/?${o.collection}$`, 'i').test(resource) ? {} : undefined),
    readPath: (_t, id, select) => `/${o.collection}/${seg(id)}${selectQuery(select)}`,
    deltaScopes: (_t, opts) => [
      { scope: '', initialPath: `/${o.collection}/delta${selectQuery(opts.select ?? o.select)}` },
    ],
    recordKey: (tenantId, _t, id) => `${tenantId.toLowerCase()}/${o.collection}/${id.toLowerCase()}`,
    itemResource: (_t, id) => `${o.collection[0]!.toUpperCase()}${o.collection.slice(1)}/${id}`,
  };
}

/** Directory users of a tenant: `/users`. */
export const users = directoryKind({
  name: 'users',
  collection: 'users',
  permission: 'User.Read.All',
  topic: 'graph.directory.users',
  topicSetting: 'G2K_USERS_TOPIC',
  idField: 'objectId',
  itemField: 'user',
  select: 'id,displayName,userPrincipalName,mail,givenName,surname,jobTitle,department,accountEnabled',
});

/** Directory groups of a tenant: `/groups`. */
export const groups = directoryKind({
  name: 'groups',
  collection: 'groups',
  permission: 'Group.Read.All',
  topic: 'graph.directory.groups',
  topicSetting: 'G2K_GROUPS_TOPIC',
  idField: 'objectId',
  itemField: 'group',
  select: 'id,displayName,description,mail,mailEnabled,securityEnabled,groupTypes',
  // Membership changes arrive as `updated` of the group: its record carries the member list as read then
  // (direct members; a notification's own members@delta is the sender's claim, not read from Graph).
  relations: [
    { property: 'members', path: (id) => `/groups/${seg(id)}/members?$select=id&$top=999`, maxItems: 10_000 },
  ],
  reducible: ['members'],
});
