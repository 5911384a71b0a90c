import type { RepairEntry } from './repair-types.ts';

/** A mailbox's share of the queue once it is half full: one subscription's junk cannot crowd out the others. */
export const MAILBOX_SHARE = 0.1;
/** How often an instance re-counts the queue while it is less than half full (a count is a listing, not free). */
export const RECOUNT_MS = 5 * 60_000;
/** … and once it is half full, when the count decides what is refused. */
export const RECOUNT_NEAR_FULL_MS = 30_000;

/** What the queue holds per mailbox (tenant and user; directory kinds: the tenant). */
export const mailboxOf = (e: Pick<RepairEntry, 'tenantId' | 'userId'>): string =>
  `${e.tenantId.toLowerCase()}/${e.userId.toLowerCase()}`;

/**
 * The repair queue's bound, kept by each instance without a store read per entry: the last count of the queue
 * (a listing, now and then) plus every entry this instance admitted since, so the queue never grows past the
 * bound between two counts by this instance's doing. Until the queue is half full any mailbox may add entries;
 * past that a mailbox holding more than its share (`MAILBOX_SHARE` of the bound) adds none, so the other half
 * stays open to every other mailbox.
 */
export class QueueAdmission {
  private readonly max: number;
  private readonly share: number;
  private counted = 0;
  private countedBy = new Map<string, number>();
  private added = 0;
  private addedBy = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
    this.share = Math.max(1, Math.floor(max * MAILBOX_SHARE));
  }

  /** The queue's estimated size: its last count and what was admitted since. */
  get size(): number {
    return this.counted + this.added;
  }

  /** How long until the next count is due. */
  recountEvery(): number {
    return this.size * 2 >= this.max ? RECOUNT_NEAR_FULL_MS : RECOUNT_MS;
  }

  /**
   * Admits what fits, in order, and counts it: one flag per entry. An entry already queued (same id) is counted
   * again; the estimate errs towards full, and the next count corrects it.
   */
  admit(entries: ReadonlyArray<Pick<RepairEntry, 'tenantId' | 'userId'>>): boolean[] {
    return entries.map((e) => {
      const mailbox = mailboxOf(e);
      const held = (this.countedBy.get(mailbox) ?? 0) + (this.addedBy.get(mailbox) ?? 0);
      const room = this.size < this.max && (this.size * 2 < this.max || held < this.share);
      if (!room) return false;
      this.added++;
      this.addedBy.set(mailbox, (this.addedBy.get(mailbox) ?? 0) + 1);
      return true;
    });
  }

  /**
   * Starts a count: returns what to call with the listing once it is read. Entries admitted while the listing
   * is read stay counted as added (they may be in it too: an overestimate, corrected by the next count).
   */
  recount(): (entries: ReadonlyArray<Pick<RepairEntry, 'tenantId' | 'userId'>>) => void {
    const addedBefore = this.added;
    const addedByBefore = new Map(this.addedBy);
    return (entries) => {
      this.counted = entries.length;
      this.countedBy = new Map();
      for (const e of entries) this.countedBy.set(mailboxOf(e), (this.countedBy.get(mailboxOf(e)) ?? 0) + 1);
      this.added -= addedBefore;
      for (const [m, n] of addedByBefore) {
        const left = (this.addedBy.get(m) ?? 0) - n;
        if (left > 0) this.addedBy.set(m, left);
        else this.addedBy.delete(m);
      }
    };
  }
}
