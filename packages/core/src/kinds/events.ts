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

/**
 * What every read of an event adds: the calendar it is in, which keeps it to the target's calendar (see
 * FolderScope). Graph's event has no property naming its calendar; the `calendar` navigation property, expanded
 * to its id, is the one way a read of the event says it.
 */
const CALENDAR_EXPAND = '$expand=calendar($select=id)';

/**
 * Outlook calendar events of a mailbox: its default calendar (`/users/{id}/events`, which Graph notifies for the
 * default calendar only) or one calendar (`/users/{id}/calendars/{id}/events`; the target's `folderId` is the
 * calendar's id). Keys are tenant/user/event whichever calendar: an event moved between calendars keeps its
 * immutable id and its key.
 */
export const events: ResourceKind = {
  name: 'events',
  ...OUTLOOK,
  collection: 'events',
  permission: 'Calendars.Read',
  defaultTopic: 'graph.calendar.events',
  topicSetting: 'G2K_TOPIC',
  idField: 'eventId',
  itemField: 'event',
  defaultSelect: undefined,
  // What a calendar consumer needs of an event, without its body (Graph refuses Body in a rich $select).
  rich: {
    maxLifetimeMinutes: OUTLOOK_RICH_MINUTES,
    defaultSelect:
      'subject,start,end,isAllDay,location,locations,organizer,attendees,showAs,isCancelled,isOnlineMeeting,onlineMeetingUrl,importance,sensitivity,categories,type,seriesMasterId,recurrence,originalStart,iCalUId,webLink,changeKey,createdDateTime,lastModifiedDateTime',
  },
  reducible: [
    'body',
    'uniqueBody',
    'attachments',
    'extensions',
    'singleValueExtendedProperties',
    'multiValueExtendedProperties',
    'attendees',
    'bodyPreview',
    'locations',
    'onlineMeeting',
  ],
  // calendarView/delta says `@removed` (reason "deleted") also for an event moved out of its window: the event is
  // read before it is tombstoned, so a resync or sweep never forgets an event Graph still has.
  removalMeansGone: false,
  // Graph names a series' cancelled occurrences only to a $select on a read of the master itself.
  selectedOnly: { select: 'cancelledOccurrences', applies: (item) => item.type === 'seriesMaster' },
  // calendarView/delta shows a series as its occurrences and exceptions: records are of the master, as from
  // notifications.
  parentOf: (item) =>
    (item.type === 'occurrence' || item.type === 'exception') && typeof item.seriesMasterId === 'string'
      ? item.seriesMasterId
      : undefined,
  container: {
    field: 'calendar',
    where: (item) => (item.calendar as { id?: unknown } | null | undefined)?.id,
    path: (t) =>
      t.folderId
        ? `/users/${seg(user(t))}/calendars/${seg(t.folderId)}?$select=id`
        : `/users/${seg(user(t))}/calendar?$select=id`,
    recordField: 'calendarId',
    wholeIsFolder: true,
  },
  subscriptionResource: (t) =>
    t.folderId ? `/users/${user(t)}/calendars/${t.folderId}/events` : `/users/${user(t)}/events`,
  targetOf(resource) {
    const userId = mailboxCollection(resource, 'events');
    if (userId) return { userId };
    const m = /^\/?users\/([^/]+)\/calendars\/([^/]+)\/events$/i.exec(withoutQuery(resource));
    if (!m || !ITEM_ID.test(m[2]!)) return undefined;
    return { userId: m[1]!.toLowerCase(), folderId: m[2]! };
  },
  readPath: (t, id, select) =>
    `/users/${seg(user(t))}/events/${seg(id)}${selectQuery(select)}${select ? '&' : '?'}${CALENDAR_EXPAND}`,
  deltaScopes(t, w) {
    // calendarView/delta takes no $select: the resync reads whole events.
    const day = 86_400_000;
    const start = new Date(w.now - w.pastDays * day).toISOString();
    const end = new Date(w.now + w.futureDays * day).toISOString();
    const view = t.folderId
      ? `/users/${seg(user(t))}/calendars/${seg(t.folderId)}/calendarView/delta`
      : `/users/${seg(user(t))}/calendarView/delta`;
    return [{ scope: '', initialPath: `${view}?startDateTime=${start}&endDateTime=${end}` }];
  },
  recordKey: (tenantId, t, id) => `${tenantId.toLowerCase()}/${user(t).toLowerCase()}/${id}`,
  itemResource: (t, id) => `Users/${user(t)}/Events/${id}`,
};
