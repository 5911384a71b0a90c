/**
 * Everything that differs between the Graph resources graph2kafka subscribes to. The pipeline, the fetcher,
 * the resync and the manager take a kind and hold no kind-specific branch: adding a resource means adding one
 * module beside this one and listing it in `kinds/index.ts` (see the README, "Adding a resource kind").
 */

/** How far before a listing round's start the next round reads back (`DeltaScope.since`): replicas lag, clocks differ. */
export const LISTING_MARGIN_MS = 10 * 60_000;

export type KindName =
  'events' | 'messages' | 'contacts' | 'users' | 'groups' | 'channelMessages' | 'chatMessages' | 'chats';
export type ChangeType = 'created' | 'updated' | 'deleted';
export type LifecycleEventName = 'missed' | 'subscriptionRemoved' | 'reauthorizationRequired';

/**
 * What one subscription watches: a mailbox (user object id, lower-case), for some kinds one folder of it — a mail
 * folder for messages, a calendar (Exchange keeps calendars as folders) for events. Tenant-wide kinds leave
 * `userId` out; the Teams kinds name one channel or chat in `folderId` (`teams/{id}/channels/{id}`,
 * `chats/{id}`), or nothing for the whole tenant.
 */
export interface Target {
  userId?: string;
  folderId?: string;
}

/** What a notification's resource names once parsed: the user as written (lower-case) and the item's id. */
export interface NamedItem {
  /** The notification's collection segment, lower-case (`events`, `messages`, …): which kind it claims. */
  collection: string;
  user: string | undefined;
  itemId: string;
  /** What `resourceData.id` must say, where it is not `itemId` (a Teams message's own id in its path). */
  dataId?: string;
}

/** One delta round of a target: mailbox-wide messages have one per mail folder, the rest just one. */
export interface DeltaScope {
  /** Empty for the target's only round; a folder id otherwise. Part of the sync state's key. */
  scope: string;
  /** The first request of a full round (no token yet). */
  initialPath: string;
  /**
   * A plain listing where Graph has no delta (a chat's messages): a round ends with its last page (Graph gives it
   * no deltaLink), and a removal cannot be seen.
   */
  listing?: boolean;
  /**
   * A listing that can be limited to what changed after a time (`$filter=lastModifiedDateTime gt …`): its path
   * from `fromIso`. A baseline stores it from now, and each round ends by storing it from when the round began
   * (less a margin), so the next round reads only the changes; without it, every round reads the whole listing.
   */
  since?: (fromIso: string) => string;
  /** Of a listing that holds more than the target's items (a team's every channel), the target's. */
  keep?: (item: Record<string, unknown>) => boolean;
}

export interface DeltaOptions {
  /** Calendar kinds: the window a resync reads, around `now`. */
  pastDays: number;
  futureDays: number;
  now: number;
  /** The subscription's `$select`, where the kind's delta honours one. */
  select: string | undefined;
}

/** A collection read beside an item (see `ResourceKind.relations`). */
export interface Relation {
  property: string;
  /** The first page's path, relative to Graph's version root. */
  path(itemId: string): string;
  maxItems: number;
}

export interface ResourceKind {
  readonly name: KindName;
  /** `mailbox`: one subscription per mailbox (and folder); `tenant`: one per tenant. */
  readonly scope: 'mailbox' | 'tenant';
  /** The resource's collection segment in a notification (`Users/{id}/Messages/{id}` → `messages`). */
  readonly collection: string;
  /** The Graph application permission the kind needs (documented in infra/entra). */
  readonly permission: string;
  /** Change types Graph accepts for the kind, and the ones subscribed by default. */
  readonly changeTypes: readonly ChangeType[];
  readonly defaultChangeTypes: readonly ChangeType[];
  /** Graph's longest subscription lifetime for the kind (basic notifications). */
  readonly maxLifetimeMinutes: number;
  /**
   * Kinds Graph delivers rich notifications for (the item inside the notification, encrypted): their longest
   * lifetime then, and the `$select` a rich subscription asks for unless its entry names one (Graph requires one).
   */
  readonly rich?: { maxLifetimeMinutes: number; defaultSelect: string };
  /** The lifecycle events Graph sends for the kind. */
  readonly lifecycleEvents: readonly LifecycleEventName[];
  /** The topic its records go to unless configured otherwise, and the setting that configures it. */
  readonly defaultTopic: string;
  readonly topicSetting: string;
  /** The record value's names for the item's id and body (`eventId`/`event` for events). */
  readonly idField: string;
  readonly itemField: string;
  /** Properties read by default (`$select`); undefined reads the whole item. */
  readonly defaultSelect: string | undefined;
  /** Large properties, in the order they are left out when a record does not fit the size limit. */
  readonly reducible: readonly string[];
  /** Codes of a 404 that mean the item itself is gone (anything else says nothing about the item). */
  readonly goneCodes: readonly string[];
  /** Whether delta's `@removed` means the item is gone (else it may have moved, and a read decides). */
  readonly removalMeansGone: boolean;
  /**
   * Kinds whose target may be one folder: the item property that says which folder it is in, and the read of
   * the target folder's own id (the desired state may name it `inbox`). Items read for a folder target are
   * checked against it (see FolderScope).
   */
  readonly container?: {
    /** The item property that says where it is (copied as it is into an item seen outside the target). */
    field: string;
    /** The folder's id in that property, where it is not the property itself (an expanded `calendar`). */
    where?(item: Record<string, unknown>): unknown;
    path(target: Target): string;
    /** What records call the target's folder: `folderId` (mail folders) or `calendarId`. */
    recordField: 'folderId' | 'calendarId';
    /**
     * Whether a target without a folder is one folder too, and confined like one: `/users/{id}/events` watches the
     * default calendar only, though a read of an event by id finds it in any calendar.
     */
    wholeIsFolder: boolean;
  };
  /**
   * Collections read with each item and set on it (a group's `members`, as `{ id, @odata.type }`): every path
   * that turns a read into a record does so, so a membership change reaches Kafka as the group's new member
   * list. Over `maxItems` the collection is left out and named in the record's `reducedProperties`.
   */
  readonly relations?: readonly Relation[];
  /**
   * Properties Graph returns only to a `$select` naming them, on a read of one item (a series master's
   * `cancelledOccurrences`): read beside the item where `applies` says so and the item lacks them, and set on it.
   */
  readonly selectedOnly?: { select: string; applies(item: Record<string, unknown>): boolean };
  /**
   * Kinds whose delta returns parts of the items notifications name (calendarView/delta: a series' occurrences
   * and exceptions, never its master): the id of the item a delta entry belongs to, when it is such a part.
   */
  parentOf?(item: Record<string, unknown>): string | undefined;

  /**
   * Kinds whose notifications name an item by a path of their own (Teams: `teams('…')/channels('…')/messages('…')`):
   * the parse of such a resource (after any Graph base URL), canonical, or undefined when it is not one.
   */
  readonly namedItem?: (path: string) => NamedItem | undefined;
  /**
   * Whether an item a notification names lies within the target (a channel, a chat, the tenant), where the
   * mailbox rule does not apply. Without it, the mailbox rule (or any item of a tenant-wide kind) decides.
   */
  readonly binds?: (target: Target, named: NamedItem) => boolean;
  /**
   * The item id of an item read or sent by Graph (delta, a listing, a rich notification), where its id alone does
   * not place it (a reply is `teams/…/messages/{root}/replies/{id}`). Absent: the item's `id`.
   */
  readonly itemIdOf?: (target: Target, item: Record<string, unknown>) => string;
  /**
   * The record's id fields, where one field does not say where the item is (`teamId`, `channelId`,
   * `messageId`): their names (`optional` ones only some items have) and their values for an item id.
   */
  readonly idFields?: {
    names: readonly string[];
    optional?: readonly string[];
    of(itemId: string): Record<string, string>;
  };
  /**
   * Items that delta does not return but that live under each item it does (a channel message's replies): listed
   * for every item a resync or snapshot round meets, and produced beside it.
   */
  readonly children?: { path(itemId: string): string | undefined; maxItems: number };
  /** Graph takes no `$select` on the kind's reads or rich subscriptions (Teams): entries may not name `select` or `richRead`. */
  readonly noSelect?: true;
  /** Whether Graph still has the item but marks it deleted (a Teams message's `deletedDateTime`). */
  readonly softDeleted?: (item: Record<string, unknown>) => boolean;
  /**
   * The longest lifetime Graph allows a subscription without a `lifecycleNotificationUrl` (Teams: one hour);
   * absent, any lifetime up to the maximum.
   */
  readonly withoutLifecycleUrlMinutes?: number;
  /**
   * Kinds whose desired-state entries may name containers (channels, chats) instead of covering the tenant:
   * the entry's field, the shape of one reference, and the target's `folderId` for it.
   */
  readonly containers?: { field: 'channels' | 'chats'; shape: RegExp; what: string; folderOf(ref: string): string };

  /** The `resource` of the subscription for a target. */
  subscriptionResource(target: Target): string;
  /** The target a subscription's resource watches, when it is one of this kind's; ids lower-cased. */
  targetOf(resource: string): Target | undefined;
  /** The path that reads one item of the target. */
  readPath(target: Target, itemId: string, select: string | undefined): string;
  /** The delta rounds that bring a target up to date: a path each, or a path that lists the folders first. */
  deltaScopes(
    target: Target,
    options: DeltaOptions,
  ): DeltaScope[] | { foldersPath: string; scope: (folderId: string) => DeltaScope };
  /** The Kafka key of an item: stable across its changes, so compacted topics keep its latest record. */
  recordKey(tenantId: string, target: Target, itemId: string): string;
  /** The resource a resync or repair record names, in the form Graph's notifications use. */
  itemResource(target: Target, itemId: string): string;
}
