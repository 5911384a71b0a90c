import type { ResourceKind, Target } from '../kinds/index.ts';
import type { FetchOutcome } from './event-fetcher.ts';

type Read = (tenantId: string, kind: ResourceKind, path: string, deadline: number) => Promise<FetchOutcome>;

/** Folder ids resolved per instance; a folder's id does not change, so entries never go stale. */
const MAX_FOLDERS = 10_000;

/**
 * Keeps a folder subscription to its folder. A notification's resource names the item, not the folder, and
 * whoever holds one folder subscription's clientState can name any message of that mailbox: read through the
 * mailbox, an item from another folder would be produced on the strength of a subscription that never covered
 * it. So an item read for a folder target is checked against the folder's own id (resolved from Graph once,
 * since the desired state may name it `inbox`); one found elsewhere is reduced to its id and where it is now —
 * the genuine case is a message moved out, which the folder's consumers should hear of, but not read.
 */
export class FolderScope {
  private readonly ids = new Map<string, Promise<FetchOutcome>>();
  private readonly read: Read;

  constructor(read: Read) {
    this.read = read;
  }

  async confine(
    tenantId: string,
    kind: ResourceKind,
    target: Target,
    outcome: FetchOutcome,
    deadline: number,
  ): Promise<FetchOutcome> {
    const container = kind.container;
    if (outcome.kind !== 'found' || !target.folderId || !container) return outcome;
    const folder = await this.folder(tenantId, kind, target, deadline);
    // Not known whether it is in the folder: produced unenriched and repaired, never produced unchecked.
    if (folder.kind === 'failed') return { kind: 'failed', reason: 'folder_unresolved' };
    const where = outcome.item[container.field];
    if (folder.kind === 'found' && typeof where === 'string' && where === folder.item.id) return outcome;
    return {
      kind: 'found',
      item: { id: outcome.item.id, [container.field]: typeof where === 'string' ? where : null },
      outside: true,
    };
  }

  private folder(tenantId: string, kind: ResourceKind, target: Target, deadline: number): Promise<FetchOutcome> {
    const key = `${tenantId.toLowerCase()}|${target.userId ?? ''}|${target.folderId}`;
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
