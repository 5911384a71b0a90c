import type { Calendar, CalendarChange } from '../calendar.ts';
import { renderEvent } from '../calendar.ts';
import type { SimClock } from '../clock.ts';
import type { DirectoryChange } from '../directory-objects.ts';
import type { Faults } from '../faults.ts';
import { project } from '../graph/select.ts';
import { guid } from '../ids.ts';
import { renderItem, type ItemChange } from '../mail.ts';
import type { GraphSimOptions } from '../options.ts';
import type { Records } from '../records.ts';
import { encryptResource } from '../rich/encrypt.ts';
import type { SubscriptionService } from '../subscriptions.ts';
import type { TeamsChange, TeamsStore } from '../teams.ts';
import {
  TEAMS_KINDS,
  type ChangeNotification,
  type ChangeType,
  type LifecycleEvent,
  type NotificationRecord,
  type SimUser,
  type Subscription,
} from '../types.ts';
import type { Dispatcher } from './dispatcher.ts';

const MISSED_DEBOUNCE_MS = 60_000;

export interface NotifierDeps {
  clock: SimClock;
  records: Records;
  faults: Faults;
  calendar: Calendar;
  delivery: GraphSimOptions['delivery'];
  /** Late-bound: the subscription service and the dispatcher are built with this notifier's callbacks. */
  subscriptions: () => SubscriptionService;
  dispatcher: () => Dispatcher;
  user: (idOrUpn: string) => SimUser;
  graphBase: () => string;
  teams: TeamsStore;
}

/** Turns changes of events, messages, contacts and directory objects into the notifications Graph would send. */
export class Notifier {
  private readonly lastMissed = new Map<string, number>();

  private readonly deps: NotifierDeps;

  constructor(deps: NotifierDeps) {
    this.deps = deps;
  }

  /**
   * Who hears of a message or contact change: mailbox-wide subscriptions of its kind as for events (a move is
   * an `updated` with immutable ids, a `deleted` + `created` of the REST ids without), and folder subscriptions
   * of the folder it is in — a message moved out of one folder is `deleted` there and `created` in the other.
   */
  itemChanged(change: ItemChange): void {
    const { item } = change;
    const collection = item.kind === 'messages' ? 'Messages' : 'Contacts';
    const odataType = item.kind === 'messages' ? '#Microsoft.Graph.Message' : '#Microsoft.Graph.Contact';
    for (const sub of this.deps.subscriptions().forMailbox(item.userId)) {
      if (sub.kind !== item.kind) continue;
      const id = sub.immutableIds ? item.immutableId : item.restId;
      let sends: Array<[ChangeType, string]>;
      if (sub.folderId === undefined)
        sends =
          change.moved && !sub.immutableIds
            ? [
                ['deleted', change.previousRestId!],
                ['created', item.restId],
              ]
            : [[change.type, id]];
      else if (change.moved)
        sends = [
          ...(change.previousFolderId === sub.folderId
            ? [['deleted', sub.immutableIds ? item.immutableId : change.previousRestId!] as [ChangeType, string]]
            : []),
          ...(item.folderId === sub.folderId ? [['created', id] as [ChangeType, string]] : []),
        ];
      else sends = item.folderId === sub.folderId ? [[change.type, id]] : [];
      for (const [changeType, itemId] of sends) {
        if (!sub.changeTypes.includes(changeType)) continue;
        this.sendChange(
          sub,
          changeType,
          `Users/${sub.userId}/${collection}/${itemId}`,
          odataType,
          itemId,
          item.changeKey,
          () => renderItem(item, this.deps.user(item.userId), sub.immutableIds, this.deps.graphBase()),
        );
      }
    }
  }

  /** Tenant-wide `/users` or `/groups` subscriptions of the object's tenant hear of it. */
  directoryChanged(change: DirectoryChange): void {
    const collection = change.kind === 'users' ? 'Users' : 'Groups';
    const odataType = change.kind === 'users' ? '#Microsoft.Graph.User' : '#Microsoft.Graph.Group';
    for (const sub of this.deps.subscriptions().all()) {
      if (sub.kind !== change.kind || sub.tenantId !== change.tenantId || !sub.changeTypes.includes(change.type))
        continue;
      this.sendChange(
        sub,
        change.type,
        `${collection}/${change.id}`,
        odataType,
        change.id,
        String(this.deps.calendar.currentSeq),
      );
    }
  }

  private sendChange(
    sub: Subscription,
    changeType: ChangeType,
    resource: string,
    odataType: string,
    itemId: string,
    etag: string,
    /** The item as Graph's JSON shows it now: what a rich notification carries (its `$select`), encrypted. */
    render?: () => Record<string, unknown>,
    /** A second or later notification of one event edit: its first one's id, and how long it waits to join a POST. */
    extra?: { sameEditAs: string; holdMs: number },
  ): string {
    const resourceData = { '@odata.type': odataType, '@odata.id': resource, '@odata.etag': `W/"${etag}"`, id: itemId };
    // A deleted item has no data left to send; Graph's rich notification of a delete carries none.
    const content =
      render && changeType !== 'deleted'
        ? () => ({ '@odata.type': odataType, '@odata.id': resource, ...project(render(), sub.richSelect) })
        : undefined;
    return this.post(sub, changeType, resource, itemId, resourceData, content, extra);
  }

  /** Queues one change notification; `content` is what a rich one carries, encrypted for the subscription. */
  private post(
    sub: Subscription,
    changeType: ChangeType,
    resource: string,
    itemId: string,
    resourceData: Record<string, string>,
    content: (() => Record<string, unknown>) | undefined,
    extra?: { sameEditAs: string; holdMs: number },
  ): string {
    const id = guid();
    const rich = sub.includeResourceData && content && sub.encryptionCertificate;
    const payload: ChangeNotification = {
      id,
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: new Date(sub.expirationMs).toISOString(),
      changeType,
      resource,
      resourceData,
      ...(rich
        ? {
            encryptedContent: {
              ...encryptResource(content(), sub.encryptionCertificate!, sub.encryptionCertificateId!),
            },
          }
        : {}),
      clientState: sub.clientState ?? null,
      tenantId: sub.tenantId,
    };
    this.deps.dispatcher().enqueue(
      sub,
      'change',
      sub.notificationUrl,
      payload,
      {
        id,
        kind: 'change',
        subscriptionId: sub.id,
        url: sub.notificationUrl,
        changeType,
        resource,
        eventId: itemId,
        userId: sub.userId,
        tenantId: sub.tenantId,
        createdAt: this.deps.clock.nowIso(),
        state: 'pending',
        attempts: 0,
        ...(extra ? { sameEditAs: extra.sameEditAs } : {}),
      },
      extra?.holdMs,
    );
    return id;
  }

  eventChanged(change: CalendarChange): void {
    const { event } = change;
    // Graph sends 2–3 `updated` for one calendar edit; the fault `calendarEditNotifications` says how many. One
    // draw per edit, so every subscriber of the mailbox hears the same number. A move is no edit: one.
    const copies = change.type === 'updated' && !change.moved ? this.deps.faults.calendarEditNotifications() : 1;
    // A booking of a room or equipment mailbox: the resource's calendar attendant processes the new event, and
    // its subscribers hear "created, updated, updated, updated" for one booking (Microsoft's advice: deduplicate
    // on id and changeKey). All four carry the booking's changeKey.
    const owner = this.deps.user(event.userId);
    const booking = change.type === 'created' && (owner.userPurpose === 'room' || owner.userPurpose === 'equipment');
    const defaultCalendar = this.deps.calendar.calendars.defaultOf(event.userId).id;
    for (const sub of this.deps.subscriptions().forMailbox(event.userId)) {
      if (sub.kind !== 'events') continue;
      // `/users/{id}/events` hears the default calendar only (as users of real Graph report); a calendar's own
      // subscription hears that calendar. A move is `deleted` where the event left and `created` where it went.
      const watched = sub.folderId ?? defaultCalendar;
      const id = sub.immutableIds ? event.immutableId : event.restId;
      const sends: Array<[ChangeType, string]> = change.moved
        ? [
            ...(change.previousCalendarId === watched
              ? [['deleted', sub.immutableIds ? event.immutableId : change.previousRestId!] as [ChangeType, string]]
              : []),
            ...(event.calendarId === watched ? [['created', id] as [ChangeType, string]] : []),
          ]
        : event.calendarId === watched
          ? [
              [change.type, id],
              ...(booking ? Array.from({ length: 3 }, (): [ChangeType, string] => ['updated', id]) : []),
            ]
          : [];
      for (const [changeType, eventId] of sends) {
        if (!sub.changeTypes.includes(changeType)) continue;
        let first: string | undefined;
        for (let i = 0; i < (changeType === 'updated' && !booking ? copies : 1); i++) {
          const id = this.sendChange(
            sub,
            changeType,
            `Users/${sub.userId}/Events/${eventId}`,
            '#Microsoft.Graph.Event',
            eventId,
            event.changeKey,
            () => renderEvent(event, this.deps.user(event.userId), sub.immutableIds, this.deps.graphBase(), true),
            // Each extra joins the first one's POST or, a batch window later, the next one.
            first === undefined
              ? undefined
              : {
                  sameEditAs: first,
                  holdMs: this.deps.faults.editExtraInNextPost() ? this.deps.delivery.batchWindowMs : 0,
                },
          );
          first ??= id;
        }
      }
    }
  }

  /**
   * Who hears of a Teams change: `/teams/getAllMessages` and the channel's own subscription (channel messages
   * and replies), `/chats/getAllMessages` and the chat's own (chat messages), `/chats` (chats created or renamed),
   * each in the item's tenant. Rich ones carry the item as a GET returns it — a soft-deleted message too (it is
   * still there); a purged one carries nothing.
   */
  teamsChanged(change: TeamsChange): void {
    const { teams, graphBase } = this.deps;
    let kind: Subscription['kind'];
    let resource: string;
    let odataType: string;
    let itemId: string;
    let tenantId: string;
    let hears: (sub: Subscription) => boolean;
    let content: (() => Record<string, unknown>) | undefined;
    if (change.what === 'chat') {
      const { chat } = change;
      [kind, resource, odataType, itemId, tenantId] = [
        'chats',
        `chats('${chat.id}')`,
        '#Microsoft.Graph.chat',
        chat.id,
        chat.tenantId,
      ];
      hears = () => true;
      content = () => teams.chatJson(chat, graphBase());
    } else {
      const m = change.message;
      const { place } = m;
      [odataType, itemId, tenantId] = ['#Microsoft.Graph.chatMessage', m.id, m.tenantId];
      if (place.kind === 'chat') {
        kind = 'chatMessages';
        resource = `chats('${place.chatId}')/messages('${m.id}')`;
        hears = (sub) => sub.chatId === undefined || sub.chatId === place.chatId;
      } else {
        kind = 'channelMessages';
        const root = `teams('${place.teamId}')/channels('${place.channelId}')/messages`;
        resource = m.replyToId === null ? `${root}('${m.id}')` : `${root}('${m.replyToId}')/replies('${m.id}')`;
        hears = (sub) =>
          sub.channelId === undefined || (sub.teamId === place.teamId && sub.channelId === place.channelId);
      }
      content = m.purged ? undefined : () => teams.json(m, graphBase());
    }
    const resourceData = { id: itemId, '@odata.type': odataType, '@odata.id': resource };
    for (const sub of this.deps.subscriptions().all()) {
      if (sub.kind !== kind || sub.tenantId !== tenantId || !sub.changeTypes.includes(change.type) || !hears(sub))
        continue;
      this.post(sub, change.type, resource, itemId, resourceData, content);
    }
  }

  lifecycle(sub: Subscription, lifecycleEvent: LifecycleEvent): void {
    const record: NotificationRecord = {
      id: guid(),
      kind: 'lifecycle',
      subscriptionId: sub.id,
      url: sub.lifecycleNotificationUrl ?? '',
      lifecycleEvent,
      userId: sub.userId,
      tenantId: sub.tenantId,
      createdAt: this.deps.clock.nowIso(),
      state: 'pending',
      attempts: 0,
    };
    if (!sub.lifecycleNotificationUrl) {
      // Without a lifecycle URL Graph has nowhere to say it; the record shows what was lost.
      this.deps.records.addNotification({ ...record, state: 'dropped', droppedReason: 'noLifecycleNotificationUrl' });
      return;
    }
    const payload: ChangeNotification = {
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: new Date(sub.expirationMs).toISOString(),
      tenantId: sub.tenantId,
      clientState: sub.clientState ?? null,
      lifecycleEvent,
    };
    this.deps.dispatcher().enqueue(sub, 'lifecycle', sub.lifecycleNotificationUrl, payload, record);
  }

  missed(sub: Subscription): void {
    // Graph sends `missed` for Outlook resources only; directory and Teams subscriptions hear nothing.
    if (sub.kind === 'users' || sub.kind === 'groups' || TEAMS_KINDS.has(sub.kind)) return;
    const last = this.lastMissed.get(sub.id);
    if (last !== undefined && this.deps.clock.now() - last < MISSED_DEBOUNCE_MS) return;
    this.lastMissed.set(sub.id, this.deps.clock.now());
    this.lifecycle(sub, 'missed');
  }
}
