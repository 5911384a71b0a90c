import type { SubscriptionContext } from './context.ts';
import type { DesiredEntry } from '../config/desired-state.ts';
import { KINDS, type Target } from '../kinds/index.ts';
import { ITEM_ID } from '../kinds/mailbox-paths.ts';
import { modeOf } from './mode.ts';
import { forEachLimited } from './report.ts';
import { resourceKey, type Want } from './want.ts';

/** Mailboxes whose calendars are listed at once by a run. */
const CALENDAR_LISTINGS_AT_ONCE = 16;

/** Calendars subscribed per mailbox at most (`calendars: "all"`), as a desired-state list allows. */
const MAX_CALENDARS_PER_MAILBOX = 50;

/** Room mailbox ids kept per instance (address → object id never changes). */
const MAX_ROOM_IDS = 100_000;

/**
 * The desired state as wants: one per (tenant, kind, target), with group members, rooms and calendars read from
 * Graph at each run, and the entry's mode deciding the resource and what reads ask for.
 */
export class Planner {
  private readonly ctx: SubscriptionContext;
  /** Room mailboxes' object ids by tenant and address (see `rooms`). */
  private readonly roomIds = new Map<string, string>();

  constructor(ctx: SubscriptionContext) {
    this.ctx = ctx;
  }

  /** The desired state's subscriptions in one tenant: group members read now, one want per target. */
  async wants(tenantId: string): Promise<Map<string, Want>> {
    const wants = new Map<string, Want>();
    for (const entry of this.ctx.settings.desired.filter((d) => d.tenantId === tenantId)) {
      const kind = KINDS[entry.kind];
      const members: string[] = [];
      for (const group of entry.groups) {
        try {
          members.push(...(await this.ctx.api.groupMembers(tenantId, group)));
        } catch (err) {
          // Without its members the group's mailboxes are kept as they are, not torn down.
          throw new Error(`${entry.source}: reading group ${group} failed: ${(err as Error).message}`, { cause: err });
        }
      }
      const rooms = entry.rooms ? await this.rooms(tenantId, entry) : [];
      const users = [...new Set([...entry.users, ...members, ...rooms].map((u) => u.toLowerCase()))];
      const targets: Target[] = [];
      if (kind.scope === 'tenant')
        targets.push(...(entry.containers.length ? entry.containers.map((folderId) => ({ folderId })) : [{}]));
      else if (entry.calendars !== 'default') {
        // One listing per mailbox, several at once (a run over thousands of mailboxes would not fit its share
        // one by one); each mailbox's targets kept in the users' order.
        const perUser: Target[][] = [];
        await forEachLimited([...users.entries()], CALENDAR_LISTINGS_AT_ONCE, async ([i, userId]) => {
          perUser[i] = await this.calendarTargets(tenantId, userId, entry);
        });
        targets.push(...perUser.flat());
      } else
        for (const userId of users)
          targets.push(
            ...(entry.folders.length ? entry.folders.map((folderId) => ({ userId, folderId })) : [{ userId }]),
          );
      const mode = modeOf(this.ctx.modes, entry.mode);
      for (const target of targets) {
        const resource = mode.resource(kind, target, entry);
        const key = resourceKey(resource);
        if (wants.has(key)) continue;
        wants.set(key, {
          tenantId,
          kind,
          target,
          resource,
          changeTypes: entry.changeTypes.join(','),
          select: mode.readSelect(kind, entry),
          expand: entry.expandOccurrences,
          snapshot: entry.snapshot ?? this.ctx.settings.snapshot,
          sweepHours: entry.sweepHours ?? this.ctx.settings.sweepHours,
          mode,
          ...(entry.richRead ? { richRead: entry.richRead } : {}),
        });
      }
    }
    return wants;
  }

  /**
   * The room mailboxes an entry names, from the Places API at each run (a room added to the tenant or its list is
   * subscribed by the next run, one removed is unsubscribed). Places give addresses; a mailbox's object id is read
   * once per address and kept, since it never changes. A failed listing keeps the tenant as it is (as for groups).
   */
  private async rooms(tenantId: string, entry: DesiredEntry): Promise<string[]> {
    let addresses: string[];
    try {
      addresses = await this.ctx.api.roomAddresses(tenantId, entry.rooms!.list);
    } catch (err) {
      throw new Error(`${entry.source}: listing rooms failed: ${(err as Error).message}`, { cause: err });
    }
    const ids: string[] = [];
    for (const address of new Set(addresses)) {
      const key = `${tenantId}|${address}`;
      let id = this.roomIds.get(key);
      if (id === undefined) {
        try {
          id = await this.ctx.api.mailboxId(tenantId, address);
        } catch (err) {
          throw new Error(`${entry.source}: reading room ${address} failed: ${(err as Error).message}`, { cause: err });
        }
        // A place with no mailbox behind it (Graph's docs allow one) has no calendar to subscribe to.
        if (id === undefined) {
          this.ctx.logger.warn('a room of the Places API has no mailbox; left out', { tenantId, address });
          continue;
        }
        if (this.roomIds.size >= MAX_ROOM_IDS) this.roomIds.delete(this.roomIds.keys().next().value!);
        this.roomIds.set(key, id);
      }
      ids.push(id);
    }
    return ids;
  }

  /**
   * One target per calendar an events entry names in a mailbox: every calendar it has now (`all`), or those its
   * list names by id or by name (a name matches case-insensitively; one not found is left out and logged, and a
   * subscription to it is removed like any other target no longer wanted). A failed listing keeps the tenant as
   * it is, so a calendar is never unsubscribed because Graph did not answer.
   */
  private async calendarTargets(tenantId: string, userId: string, entry: DesiredEntry): Promise<Target[]> {
    let calendars: Array<{ id: string; name: string }>;
    try {
      calendars = await this.ctx.api.calendars(tenantId, userId);
    } catch (err) {
      throw new Error(`${entry.source}: listing the calendars of ${userId} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const wanted =
      entry.calendars === 'all'
        ? calendars
        : (entry.calendars as string[]).flatMap((ref) => {
            const found =
              calendars.find((c) => c.id === ref) ?? calendars.find((c) => c.name.toLowerCase() === ref.toLowerCase());
            if (!found)
              this.ctx.logger.warn('a calendar the desired state names was not found', { userId, calendar: ref });
            return found ? [found] : [];
          });
    // An id that is not one Graph's paths take is never put in a subscription resource.
    const ids = [...new Set(wanted.map((c) => c.id))].filter((id) => ITEM_ID.test(id));
    // Whoever owns a mailbox can add calendars to it; `all` must not let them spend the app's subscriptions (Graph
    // caps them per mailbox, across apps) or its renewal quota. The first ones Graph lists win.
    if (ids.length > MAX_CALENDARS_PER_MAILBOX)
      this.ctx.logger.warn('a mailbox has more calendars than graph2kafka subscribes to; the rest are left out', {
        userId,
        calendars: ids.length,
        subscribed: MAX_CALENDARS_PER_MAILBOX,
      });
    return ids.slice(0, MAX_CALENDARS_PER_MAILBOX).map((folderId) => ({ userId, folderId }));
  }
}
