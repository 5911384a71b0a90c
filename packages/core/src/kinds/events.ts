import { mailboxCollection, OUTLOOK, OUTLOOK_RICH_MINUTES, seg, selectQuery } from './mailbox-paths.ts';
import type { ResourceKind, Target } from './resource-kind.ts';

const user = (t: Target): string => t.userId ?? '';

/** Outlook calendar events of a mailbox: `/users/{id}/events`. Records are today's, keyed tenant/user/event. */
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
  subscriptionResource: (t) => `/users/${user(t)}/events`,
  targetOf(resource) {
    const userId = mailboxCollection(resource, 'events');
    return userId ? { userId } : undefined;
  },
  readPath: (t, id, select) => `/users/${seg(user(t))}/events/${seg(id)}${selectQuery(select)}`,
  deltaScopes(t, w) {
    // calendarView/delta takes no $select: the resync reads whole events.
    const day = 86_400_000;
    const start = new Date(w.now - w.pastDays * day).toISOString();
    const end = new Date(w.now + w.futureDays * day).toISOString();
    return [
      { scope: '', initialPath: `/users/${seg(user(t))}/calendarView/delta?startDateTime=${start}&endDateTime=${end}` },
    ];
  },
  recordKey: (tenantId, t, id) => `${tenantId.toLowerCase()}/${user(t).toLowerCase()}/${id}`,
  itemResource: (t, id) => `Users/${user(t)}/Events/${id}`,
};
