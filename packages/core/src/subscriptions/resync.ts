import type { SubscriptionSettings } from '../config/config.ts';
import { GraphRequestError, ProduceError } from '../errors.ts';
import { retryAfterMs, type GraphClient } from '../graph/graph-client.ts';
import type { EventProducer } from '../kafka/event-producer.ts';
import type { Logger } from '../logger.ts';
import { resyncRecords } from '../record.ts';
import type { SubscriptionStore } from '../state/subscription-store.ts';

export interface ResyncResult {
  produced: number;
  complete: boolean;
}

const PAGE = 'odata.maxpagesize=100';

/**
 * Catches a mailbox up through `calendarView/delta` after changes may have been lost (missed, removed or
 * expired subscriptions): follows nextLink to the deltaLink, restarts on 410, and produces every change as a
 * `source: "resync"` record through the same sink and format. Progress is stored after each page, so a resync
 * cut short by its deadline continues where it stopped.
 */
export class Resyncer {
  private readonly graph: GraphClient;
  private readonly store: SubscriptionStore;
  private readonly events: EventProducer;
  private readonly settings: SubscriptionSettings;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(deps: {
    graph: GraphClient;
    store: SubscriptionStore;
    events: EventProducer;
    settings: SubscriptionSettings;
    logger: Logger;
    now?: () => number;
  }) {
    this.now = deps.now ?? Date.now;
    this.graph = deps.graph;
    this.store = deps.store;
    this.events = deps.events;
    this.settings = deps.settings;
    this.logger = deps.logger;
  }

  /** Starts tracking a mailbox: one full delta round, not produced, whose deltaLink later resyncs start from. */
  async baseline(tenantId: string, userId: string): Promise<void> {
    const existing = await this.store.getSync(tenantId, userId);
    if (existing?.deltaLink) return;
    await this.walk(tenantId, userId, '', Infinity, false);
  }

  async markPending(tenantId: string, userId: string): Promise<void> {
    const state = await this.store.getSync(tenantId, userId);
    await this.store.putSync({
      tenantId,
      userId,
      deltaLink: state?.deltaLink,
      resyncPending: true,
      updatedAt: new Date().toISOString(),
    });
  }

  async resync(tenantId: string, userId: string, subscriptionId: string, deadline = Infinity): Promise<ResyncResult> {
    await this.markPending(tenantId, userId);
    return this.walk(tenantId, userId, subscriptionId, deadline, true);
  }

  private initialLink(userId: string): string {
    const day = 86_400_000;
    const start = new Date(this.now() - this.settings.resyncPastDays * day).toISOString();
    const end = new Date(this.now() + this.settings.resyncFutureDays * day).toISOString();
    return `/users/${encodeURIComponent(userId)}/calendarView/delta?startDateTime=${start}&endDateTime=${end}`;
  }

  private async walk(
    tenantId: string,
    userId: string,
    subscriptionId: string,
    deadline: number,
    produce: boolean,
  ): Promise<ResyncResult> {
    const state = await this.store.getSync(tenantId, userId);
    let link = state?.deltaLink ?? this.initialLink(userId);
    let produced = 0;
    for (let attempt = 0; ;) {
      if (Date.now() >= deadline) return { produced, complete: false };
      const res = await this.graph.call(tenantId, 'GET', link, {
        headers: { Prefer: `IdType="ImmutableId", ${PAGE}` },
        timeoutMs: Math.min(30_000, Math.max(1_000, deadline - Date.now())),
      });
      if (res.status === 410) {
        // The sync state is gone: a full round from the start, as Graph asks.
        this.logger.warn('delta token expired; full resync', { tenantId, userId });
        link = this.initialLink(userId);
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        if (++attempt > 8)
          throw new GraphRequestError(`delta for ${userId} kept failing with ${res.status}`, res.status);
        await new Promise((r) => setTimeout(r, retryAfterMs(res.headers['retry-after']) ?? 500 * 2 ** attempt));
        continue;
      }
      if (res.status !== 200) {
        throw new GraphRequestError(
          `delta for ${userId} answered ${res.status}`,
          res.status,
          (res.body as { error?: { code?: string } } | undefined)?.error?.code,
        );
      }
      attempt = 0;
      const page = res.body as {
        value: Record<string, unknown>[];
        '@odata.nextLink'?: string;
        '@odata.deltaLink'?: string;
      };
      if (produce && page.value.length) {
        const now = Date.now();
        // Each item gets its own verdict, as notifications do: an event too large for Kafka goes out reduced or
        // to the dead-letter topic, and never stops the resync; only a failure a retry can fix does.
        const results = await this.events.produce(
          page.value.map((item) => ({
            records: resyncRecords(tenantId, userId, subscriptionId, item, now),
            notification: null,
          })),
          now + 10_000,
        );
        const failed = results.find((r) => r.status === 'retry_later');
        if (failed) throw new ProduceError(`resync of ${userId} could not produce: ${failed.reason}`);
        produced += page.value.length;
      }
      const next = page['@odata.nextLink'] ?? page['@odata.deltaLink'];
      const done = page['@odata.deltaLink'] !== undefined;
      await this.store.putSync({
        tenantId,
        userId,
        deltaLink: next,
        resyncPending: produce && !done,
        updatedAt: new Date().toISOString(),
      });
      if (done || !next) return { produced, complete: true };
      link = next;
    }
  }
}
