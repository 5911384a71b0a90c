import type { DesiredEntry } from '../config/desired-state.ts';
import type { ResourceKind, Target } from '../kinds/index.ts';
import type { FetchOutcome } from './graph-types.ts';

type Read = (tenantId: string, kind: ResourceKind, path: string, deadline: number) => Promise<FetchOutcome>;

/**
 * What else graph2kafka subscribes to in a mailbox, for a kind: the whole of it, or these folders (ids or
 * well-known names). From the desired state; undefined where it cannot tell (a mailbox known through a group).
 */
export type Coverage = (
  tenantId: string,
  kind: ResourceKind,
  userId: string,
) => { wholeMailbox: boolean; folders: string[] } | undefined;

/** Coverage from the desired state: mailboxes it names directly (a group's members are not known here). */
export function desiredCoverage(desired: DesiredEntry[]): Coverage {
  return (tenantId, kind, userId) => {
    const entries = desired.filter(
      (d) => d.kind === kind.name && d.tenantId === tenantId.toLowerCase() && d.users.includes(userId.toLowerCase()),
    );
    if (!entries.length) return undefined;
    // Events: `all` covers every calendar, a list its calendars, `default` the default one ('': the target
    // without a calendar id, /users/{id}/events).
    if (kind.name === 'events')
      return {
        wholeMailbox: entries.some((d) => d.calendars === 'all'),
        folders: entries.flatMap((d) =>
          Array.isArray(d.calendars) ? d.calendars : d.calendars === 'default' ? [''] : [],
        ),
      };
    return { wholeMailbox: entries.some((d) => !d.folders.length), folders: entries.flatMap((d) => d.folders) };
  };
}

/** Folder ids resolved per instance; a folder's id does not change, so entries never go stale. */
const MAX_FOLDERS = 10_000;

/**
 * Keeps a folder subscription to its folder. A notification's resource names the item, not the folder, and
 * whoever holds one folder subscription's clientState can name any message of that mailbox: read through the
 * mailbox, an item from another folder would be produced on the strength of a subscription that never covered
 * it. So an item read for a folder target is checked against the folder's own id (resolved from Graph once,
 * since the desired state may name it `inbox`); one found elsewhere is reduced to its id and where it is now —
 * the genuine case is a message moved out, which the folder's consumers should hear of, but not read — unless
 * that other folder (or the whole mailbox) is subscribed too, by the desired state. Calendars are folders here:
 * an event read for a calendar's subscription, or for `/users/{id}/events` (the default calendar only), is checked
 * against that calendar.
 */
export class FolderScope {
  private readonly ids = new Map<string, Promise<FetchOutcome>>();
  private readonly read: Read;
  private readonly coverage: Coverage;

  constructor(read: Read, coverage: Coverage = () => undefined) {
    this.read = read;
    this.coverage = coverage;
  }

  async confine(
    tenantId: string,
    kind: ResourceKind,
    target: Target,
    outcome: FetchOutcome,
    deadline: number,
  ): Promise<FetchOutcome> {
    const container = kind.container;
    if (outcome.kind !== 'found' || !container || (!target.folderId && !container.wholeIsFolder)) return outcome;
    const folder = await this.folder(tenantId, kind, target, deadline);
    // Not known whether it is in the folder: produced unenriched and repaired, never produced unchecked.
    if (folder.kind === 'failed') return { kind: 'failed', reason: 'folder_unresolved' };
    const where = container.where ? container.where(outcome.item) : outcome.item[container.field];
    if (folder.kind === 'found' && typeof where === 'string' && where === folder.item.id) return outcome;
    // In a folder graph2kafka subscribes to anyway (a move between two watched folders): nothing to keep from
    // anyone, and the whole item keeps a compacted topic's latest value of that key complete.
    if (typeof where === 'string' && (await this.coveredElsewhere(tenantId, kind, target, where, deadline)))
      return outcome;
    return {
      kind: 'found',
      item: {
        id: outcome.item.id,
        [container.field]: typeof where === 'string' ? outcome.item[container.field] : null,
      },
      outside: true,
    };
  }

  private async coveredElsewhere(
    tenantId: string,
    kind: ResourceKind,
    target: Target,
    folderId: string,
    deadline: number,
  ): Promise<boolean> {
    const covered = target.userId ? this.coverage(tenantId, kind, target.userId) : undefined;
    if (!covered) return false;
    if (covered.wholeMailbox) return true;
    for (const ref of covered.folders) {
      // '' names the target without a folder (events: the default calendar).
      if (ref === (target.folderId ?? '')) continue;
      const other = await this.folder(
        tenantId,
        kind,
        ref ? { ...target, folderId: ref } : { userId: target.userId! },
        deadline,
      );
      if (other.kind === 'found' && other.item.id === folderId) return true;
    }
    return false;
  }

  private folder(tenantId: string, kind: ResourceKind, target: Target, deadline: number): Promise<FetchOutcome> {
    const key = `${tenantId.toLowerCase()}|${target.userId ?? ''}|${target.folderId ?? ''}`;
    let known = this.ids.get(key);
    if (!known) {
      if (this.ids.size >= MAX_FOLDERS) this.ids.delete(this.ids.keys().next().value!);
      known = this.read(tenantId, kind, kind.container!.path(target), deadline);
      this.ids.set(key, known);
      // A failed resolution is asked again next time; a resolved id (or a folder gone) is kept.
      void known.then((o) => {
        if (o.kind === 'failed' && this.ids.get(key) === known) this.ids.delete(key);
      });
    }
    return known;
  }
}
