import { SimUsageError } from './errors.ts';
import { outlookId } from './ids.ts';

/** One calendar (a calendar folder) of a mailbox. */
export interface SimCalendar {
  id: string;
  userId: string;
  name: string;
  isDefault: boolean;
  createdMs: number;
}

/** What a test or the control API names a mailbox's default calendar by, besides its id. */
export const DEFAULT_CALENDAR_REF = 'calendar';

/**
 * Every mailbox's calendars. A mailbox has its default calendar ("Calendar") from the start, with an Outlook id
 * like any other folder's; `/users/{id}/calendar` and the control API's `calendar` name it.
 */
export class Calendars {
  private readonly byUser = new Map<string, SimCalendar[]>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  list(userId: string): SimCalendar[] {
    let list = this.byUser.get(userId);
    if (!list) {
      list = [{ id: outlookId(), userId, name: 'Calendar', isDefault: true, createdMs: this.now() }];
      this.byUser.set(userId, list);
    }
    return list;
  }

  defaultOf(userId: string): SimCalendar {
    return this.list(userId)[0]!;
  }

  /** A calendar by id, or the default one by `calendar` (any casing). */
  find(userId: string, ref: string): SimCalendar | undefined {
    if (ref.toLowerCase() === DEFAULT_CALENDAR_REF) return this.defaultOf(userId);
    return this.list(userId).find((c) => c.id === ref);
  }

  require(userId: string, ref: string): SimCalendar {
    const calendar = this.find(userId, ref);
    if (!calendar) throw new SimUsageError(`user ${userId} has no calendar ${ref}`, 404);
    return calendar;
  }

  /** Outlook refuses a second calendar of one name in a mailbox (ErrorFolderExists). */
  add(userId: string, name: string): SimCalendar {
    if (!name.trim() || name.length > 255) throw new SimUsageError('a calendar name is 1..255 characters');
    const list = this.list(userId);
    if (list.some((c) => c.name.toLowerCase() === name.toLowerCase()))
      throw new SimUsageError(`user ${userId} already has a calendar named ${name}`, 409);
    const calendar = { id: outlookId(), userId, name, isDefault: false, createdMs: this.now() };
    list.push(calendar);
    return calendar;
  }

  /** The default calendar cannot be deleted (Graph answers ErrorCannotDeleteDefaultCalendar-like refusals). */
  remove(userId: string, ref: string): SimCalendar {
    const calendar = this.require(userId, ref);
    if (calendar.isDefault) throw new SimUsageError('the default calendar cannot be removed', 400);
    this.byUser.set(
      userId,
      this.list(userId).filter((c) => c !== calendar),
    );
    return calendar;
  }
}

/** A calendar as Graph's JSON shows it (resources/calendar, v1.0). */
export function renderCalendar(
  calendar: SimCalendar,
  owner: { displayName: string; mail: string },
): Record<string, unknown> {
  return {
    id: calendar.id,
    name: calendar.name,
    color: 'auto',
    hexColor: '',
    isDefaultCalendar: calendar.isDefault,
    changeKey: Buffer.from(calendar.id.slice(-12)).toString('base64'),
    canShare: true,
    canViewPrivateItems: true,
    canEdit: true,
    isRemovable: !calendar.isDefault,
    isTallyingResponses: true,
    allowedOnlineMeetingProviders: ['teamsForBusiness'],
    defaultOnlineMeetingProvider: 'teamsForBusiness',
    owner: { name: owner.displayName, address: owner.mail },
  };
}
