import type { Config } from '../config/config.ts';
import { errorMessage } from '../errors.ts';
import type { EventFetcher } from '../graph/event-fetcher.ts';
import type { FetchOutcome } from '../model/item-read.ts';
import type { EventProducer } from '../kafka/event-producer.ts';
import type { RecordSink } from '../kafka/producer.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Repairer } from '../repair/repairer.ts';
import type { RichOpener } from '../rich/rich-opener.ts';
import { KINDS, kindOf, subscriptionTarget } from '../kinds/index.ts';
import { lifecycleRecord, lifecycleValue, notificationRecords, type KafkaRecord } from '../model/record.ts';
import type { RecordEncoder } from '../format/record-encoder.ts';
import type { TopicRouter } from '../kafka/topic-router.ts';
import type { Subscriptions } from '../model/subscription.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import { parseEnvelope, type Item } from './envelope.ts';
import { jsonResponse, type CoreResponse } from '../model/http.ts';
import type { ChangeNotification, LifecycleNotification, VerifiedChange } from '../model/change.ts';
import { REJECTIONS, type ItemOutcome, type Rejection } from '../model/outcome.ts';
import { boundToSubscription } from './resource.ts';
import { PostVerifier } from './verify.ts';
import { withTimeout } from '../timeout.ts';
import { PostBudget } from '../model/budget.ts';
import { fenceScope } from '../fence/fence-types.ts';

/** Subscription reads one POST may send to the store (cache hits are free); see PostVerifier. */
const MAX_STORE_READS_PER_POST = 200;
/**
 * Distinct events one POST may have read from Graph; the rest go out unenriched (`read_limit`) and are repaired
 * at the repair queue's pace. Holding one subscription's clientState must not buy a mailbox's read budget.
 */
const MAX_READS_PER_POST = 200;
/**
 * Pages of an item's relations (a group's members) read while Graph waits: one, so a POST costs at most two
 * reads per item; a larger group's record goes out unenriched and the paced repair reads all its pages.
 */
const RELATION_PAGES_PER_ITEM = 1;

export interface ReceiverCounters {
  posts: number;
  notifications: number;
  produced: number;
  reduced: number;
  deadLettered: number;
  retryLater: number;
  notEnriched: number;
  rejected: Record<Rejection, number>;
  badRequests: number;
  /** POSTs answered 503. */
  unavailable: number;
}

/** Records the action a verified lifecycle notification owes (the subscription manager); throws when it could not. */
export type LifecycleAction = (
  n: LifecycleNotification,
  subscription: SubscriptionRecord,
  deadline: number,
) => Promise<void>;

export interface ReceiverDeps {
  config: Config;
  /** Where lifecycle records go (per tenant with G2K_TOPIC_TEMPLATE). */
  router: TopicRouter;
  /** Their CloudEvents and trace headers. */
  encoder: RecordEncoder;
  lifecycle?: LifecycleAction;
  store: Subscriptions;
  fetcher: EventFetcher;
  sink: RecordSink;
  events: EventProducer;
  repairer: Repairer;
  /** Opens rich notifications (absent: no certificate configured; every change is read). */
  rich?: RichOpener;
  logger: Logger;
  metrics?: Metrics;
  now?: () => number;
}

interface Change {
  index: number;
  n: VerifiedChange;
  subscription: SubscriptionRecord;
  raw: Record<string, unknown>;
}

interface Lifecycle {
  index: number;
  n: LifecycleNotification;
  subscription: SubscriptionRecord;
}

/**
 * One POST, one outcome per item, one answer. Items are sorted by shape (change, lifecycle, unusable,
 * malformed), verified (tenant, subscription, clientState), bound to their subscription's mailbox, enriched
 * within the time budget and produced each with its own verdict; the answer is computed once from the
 * verdicts: 202 when everything of ours is durably in Kafka (foreign and forged items counted and skipped),
 * 503 when something of ours could not be stored for a reason a retry can fix, 400 only for a body that is
 * not a notification collection at all.
 */
export class NotificationReceiver {
  readonly counters: ReceiverCounters = {
    posts: 0,
    notifications: 0,
    produced: 0,
    reduced: 0,
    deadLettered: 0,
    retryLater: 0,
    notEnriched: 0,
    rejected: Object.fromEntries(REJECTIONS.map((r) => [r, 0])) as Record<Rejection, number>,
    badRequests: 0,
    unavailable: 0,
  };
  private readonly deps: ReceiverDeps;
  private readonly now: () => number;

  constructor(deps: ReceiverDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  /** A POST's body (size and method already checked by the HTTP entry) → Graph's answer. */
  async handle(body: Buffer, receivedAt: number): Promise<CoreResponse> {
    const envelope = parseEnvelope(body);
    if (!envelope.ok) {
      this.counters.badRequests++;
      this.deps.logger.warn('malformed notification POST refused', { reason: envelope.reason });
      return jsonResponse(400, { error: { code: 'BadRequest', message: envelope.reason } });
    }
    const { items } = envelope;
    this.counters.posts++;
    this.counters.notifications += items.length;
    const outcomes = await this.decide(items, receivedAt, envelope.validationTokens);
    return this.answer(items, outcomes, receivedAt);
  }

  private async decide(items: Item[], receivedAt: number, validationTokens: unknown): Promise<ItemOutcome[]> {
    const verifier = new PostVerifier(this.deps.store, this.deps.config.allowedTenants, MAX_STORE_READS_PER_POST);
    const verdicts = await Promise.all(
      items.map((item) =>
        item.kind === 'malformed'
          ? Promise.resolve(undefined)
          : verifier.verify(item.kind === 'unusable' ? item : item.n),
      ),
    );
    const outcomes: Array<ItemOutcome | undefined> = new Array<ItemOutcome | undefined>(items.length);
    const changes: Change[] = [];
    const lifecycles: Lifecycle[] = [];
    for (const [index, item] of items.entries()) {
      const verdict = verdicts[index];
      if (item.kind === 'malformed' || !verdict) outcomes[index] = { status: 'rejected', reason: 'malformed' };
      else if (!verdict.ok)
        outcomes[index] =
          'retry' in verdict
            ? { status: 'retry_later', reason: verdict.retry }
            : { status: 'rejected', reason: verdict.reason };
      else if (item.kind === 'unusable') outcomes[index] = { status: 'rejected', reason: item.reason };
      else if (item.kind === 'lifecycle') lifecycles.push({ index, n: item.n, subscription: verdict.subscription });
      else if (!boundToSubscription(item.n.named, verdict.subscription, item.n.tenantId))
        // The clientState matched, but the resource names another mailbox or kind: whoever holds one
        // subscription's secret must not make us read or write anything but that subscription's mailbox.
        outcomes[index] = { status: 'rejected', reason: 'resource_mismatch' };
      else
        changes.push({
          index,
          n: verifiedChange(item.n, verdict.subscription),
          subscription: verdict.subscription,
          raw: item.raw,
        });
    }
    // Items beyond the read budget are retried when the POST also carried genuine items (Graph's redelivery
    // finds the subscriptions cached by then); in a POST with nothing genuine they are only more forgeries.
    if (changes.length || lifecycles.length)
      for (const [i, o] of outcomes.entries())
        if (o?.status === 'rejected' && o.reason === 'lookup_limit')
          outcomes[i] = { status: 'retry_later', reason: 'too many subscriptions in one POST; redeliver' };
    const budget = new PostBudget(receivedAt, this.deps.config.timeBudgetMs, this.now);
    await Promise.all([
      this.produceChanges(changes, outcomes, budget, validationTokens),
      this.actOnLifecycle(lifecycles, outcomes, budget),
    ]);
    // Every item has its verdict by now; were one missing, the safe answer is to have Graph redeliver.
    return Array.from(outcomes, (o) => o ?? { status: 'retry_later' as const, reason: 'no verdict reached' });
  }

  private async produceChanges(
    all: Change[],
    outcomes: Array<ItemOutcome | undefined>,
    budget: PostBudget,
    validationTokens: unknown,
  ): Promise<void> {
    const { receivedAt, enrichBy } = budget;
    if (!all.length) return;
    // Rich notifications carry their item: used as sent when proven, else read like any other change.
    const decisions = this.deps.rich
      ? await this.deps.rich.open(all, validationTokens)
      : all.map(() => 'read' as const);
    const carried = new Map<Change, FetchOutcome>();
    const changes = all.filter((c, i) => {
      const d = decisions[i]!;
      if (d === 'read') return true;
      if ('verdict' in d) {
        outcomes[c.index] = d.verdict;
        return false;
      }
      carried.set(c, d.outcome);
      return true;
    });
    if (!changes.length) return;
    // The fence's tokens before any read: a read that starts later (another POST, a repair, a resync) wins.
    let tokens: Map<string, number>;
    try {
      tokens = await withTimeout(
        this.deps.events.observe(changes.map((c) => scopeOf(c.n))),
        Math.max(1, enrichBy - this.now()),
        () => new Error('the state store did not answer in time'),
      );
    } catch (err) {
      const reason = `state store (key fence) unavailable: ${errorMessage(err)}`;
      for (const c of changes) outcomes[c.index] = { status: 'retry_later', reason };
      return;
    }
    // Deletes are read too: a tombstone is written only once Graph confirms the item is gone.
    const reads = new Set<string>();
    const fetched = await Promise.all(
      changes.map((c): Promise<FetchOutcome> => {
        const opened = carried.get(c);
        if (opened && !c.subscription.richRead) return Promise.resolve(opened);
        if (opened) {
          // The entry's richRead (body …): read beside the item, as its owner chose; within the POST's budget.
          reads.add(`${c.n.tenantId}|rich|${c.n.itemId}`);
          return reads.size > MAX_READS_PER_POST
            ? Promise.resolve({ kind: 'failed', reason: 'read_limit' })
            : this.deps.fetcher.withProperties(
                c.n.tenantId,
                KINDS[c.n.kind],
                c.n.target,
                opened,
                c.subscription.richRead!,
                enrichBy,
              );
        }
        const kind = KINDS[c.n.kind];
        const path = kind.readPath(c.n.target, c.n.itemId, c.n.select);
        reads.add(`${c.n.tenantId}${path}`);
        return reads.size > MAX_READS_PER_POST
          ? Promise.resolve({ kind: 'failed', reason: 'read_limit' })
          : this.deps.fetcher.fetchItem(
              c.n.tenantId,
              kind,
              c.n.target,
              c.n.itemId,
              c.n.select,
              enrichBy,
              RELATION_PAGES_PER_ITEM,
            );
      }),
    );
    // A notification naming an occurrence or exception of a series (Graph only ever names the master; a forged or
    // replayed POST can): its master is read instead, through the repair queue, and no occurrence key is made
    // outside the expansion's bookkeeping.
    const masters = new Map<number, string>();
    for (const [i, c] of changes.entries()) {
      const o = fetched[i]!;
      const parent = o.kind === 'found' ? KINDS[c.n.kind].parentOf?.(o.item) : undefined;
      if (parent) masters.set(i, parent);
    }
    const produced = changes.filter((_, i) => !masters.has(i));
    const producedFetched = fetched.filter((_, i) => !masters.has(i));
    if (masters.size) {
      const ok = await this.deps.repairer
        .enqueueMasters([...masters.entries()].map(([i, masterId]) => ({ n: changes[i]!.n, masterId })))
        .then(
          () => true,
          () => false,
        );
      for (const i of masters.keys())
        outcomes[changes[i]!.index] = ok
          ? { status: 'produced' }
          : { status: 'retry_later', reason: 'could not queue the series master for a read' };
    }
    const units = produced.map((change, i) => ({
      change,
      unit: {
        records: notificationRecords(change.n, producedFetched[i]!, receivedAt),
        notification: replayable(change.n),
        token: tokens.get(scopeOf(change.n))!,
        select: change.n.select,
      },
    }));
    const notEnriched = producedFetched.flatMap((o) => (o.kind === 'failed' ? [o.reason] : []));
    if (notEnriched.length) {
      this.counters.notEnriched += notEnriched.length;
      for (const reason of notEnriched) this.deps.metrics?.notEnriched(reason);
      this.deps.logger.warn('changes not enriched', { count: notEnriched.length, reasons: [...new Set(notEnriched)] });
    }
    // What the records owe (repairs of unenriched ones, series expansions) is queued by the emit path's follow-ups
    // once they are in Kafka; a slow store must not hold Graph's answer past its budget, so that part goes on in
    // the background.
    const results = await this.deps.events.produce(
      units.map((u) => u.unit),
      budget.produceBy(),
      budget.answerBy,
    );
    // Superseded: a newer observation of the key is claimed, so this change is covered by it.
    for (const [i, { change }] of units.entries()) {
      const r = results[i]!;
      outcomes[change.index] =
        r.status === 'superseded' ? { status: 'produced' } : r.status === 'produced' ? withoutReread(r) : r;
    }
    if (fetched.some((o) => o.kind === 'found')) this.deps.repairer.nudge();
  }

  private async actOnLifecycle(
    lifecycles: Lifecycle[],
    outcomes: Array<ItemOutcome | undefined>,
    budget: PostBudget,
  ): Promise<void> {
    if (!lifecycles.length) return;
    const { receivedAt } = budget;
    const byTopic = new Map<string, KafkaRecord[]>();
    for (const { n } of lifecycles) {
      const topic = this.deps.router.topic('lifecycle', n.tenantId);
      const record = this.deps.encoder.lifecycle(lifecycleRecord(n, receivedAt), lifecycleValue(n, receivedAt));
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), record]);
    }
    try {
      // The sink groups sends that wait together into one produce request.
      await Promise.all(
        [...byTopic].map(([topic, records]) => this.deps.sink.send(topic, records, budget.produceBy() - this.now())),
      );
    } catch (err) {
      for (const l of lifecycles)
        outcomes[l.index] = { status: 'retry_later', reason: `not stored: ${errorMessage(err)}` };
      return;
    }
    for (const l of lifecycles) outcomes[l.index] = { status: 'produced' };
    const act = this.deps.lifecycle;
    if (!act) return;
    // One action per (subscription, event) per POST: repeating an item must not repeat the work.
    const byAction = new Map<string, Lifecycle[]>();
    for (const l of lifecycles) {
      const key = `${l.n.subscriptionId}|${l.n.lifecycleEvent}`;
      byAction.set(key, [...(byAction.get(key) ?? []), l]);
    }
    // Recorded, not acted on: the action runs after the answer (subscriptions/lifecycle.ts).
    const deadline = budget.enrichBy;
    await Promise.all(
      [...byAction.values()].map(async (group) => {
        const first = group[0]!;
        try {
          await act(first.n, first.subscription, deadline);
        } catch (err) {
          // Graph redelivers the lifecycle notification; the timer also reconciles meanwhile.
          const message = errorMessage(err);
          this.deps.logger.error('recording a lifecycle action failed', {
            lifecycleEvent: first.n.lifecycleEvent,
            subscriptionId: first.n.subscriptionId,
            error: message,
          });
          for (const l of group)
            outcomes[l.index] = { status: 'retry_later', reason: `lifecycle action not recorded: ${message}` };
        }
      }),
    );
  }

  /**
   * Counts the outcomes, logs one line for the POST (a warning when anything was not produced), and answers
   * Graph.
   */
  private answer(items: Item[], outcomes: ItemOutcome[], receivedAt: number): CoreResponse {
    const log = this.deps.logger;
    const rejected: Partial<Record<Rejection, number>> = {};
    const retryReasons = new Set<string>();
    const deadLettered: string[] = [];
    const foreign = new Set<string>();
    let produced = 0;
    for (const [i, o] of outcomes.entries()) {
      this.deps.metrics?.item(o.status, o.status === 'rejected' || o.status === 'dead_lettered' ? o.reason : undefined);
      if (o.status === 'produced') {
        produced++;
        this.counters.produced++;
        if (o.reduced) this.counters.reduced++;
      } else if (o.status === 'rejected') {
        this.counters.rejected[o.reason]++;
        rejected[o.reason] = (rejected[o.reason] ?? 0) + 1;
        const item = items[i]!;
        if (item.kind !== 'malformed' && foreign.size < 5)
          foreign.add(item.kind === 'unusable' ? item.subscriptionId : item.n.subscriptionId);
      } else if (o.status === 'dead_lettered') {
        this.counters.deadLettered++;
        deadLettered.push(o.reason);
      } else {
        this.counters.retryLater++;
        retryReasons.add(o.reason);
      }
    }
    const status = retryReasons.size ? 503 : 202;
    const summary = {
      status,
      items: outcomes.length,
      produced,
      ms: Math.round(this.now() - receivedAt),
      ...(Object.keys(rejected).length ? { rejected, subscriptionIds: [...foreign] } : {}),
      ...(deadLettered.length ? { deadLettered: deadLettered.length } : {}),
      ...(retryReasons.size ? { retryLater: [...retryReasons].slice(0, 5) } : {}),
    };
    if (produced < outcomes.length) log.warn('notification POST: not every item was produced', summary);
    else log.info('notification POST', summary);
    if (status === 202) return { status: 202, headers: {}, body: '' };
    this.counters.unavailable++;
    return jsonResponse(
      503,
      { error: { code: 'RetryLater', message: `not stored, Graph will redeliver: ${[...retryReasons][0]}` } },
      { 'Retry-After': '5' },
    );
  }
}

/**
 * The change as graph2kafka acts on it: the kind, mailbox and folder are the subscription's (the notification
 * only named an item in them, checked by `boundToSubscription`), the `$select` its entry's.
 */
function verifiedChange(n: ChangeNotification, subscription: SubscriptionRecord): VerifiedChange {
  const kind = kindOf(subscription);
  return {
    ...n,
    kind: kind.name,
    target: subscriptionTarget(kind, subscription),
    itemId: n.named.itemId,
    select: subscription.select ?? kind.defaultSelect,
    ...(subscription.expand ? { expand: subscription.expand } : {}),
  };
}

/** The fence scope of a change: its tenant, kind and mailbox. */
const scopeOf = (n: VerifiedChange): string => fenceScope(n.tenantId, n.kind, n.target.userId);

const withoutReread = (r: { status: 'produced'; reduced?: string[] }): ItemOutcome =>
  r.reduced ? { status: 'produced', reduced: r.reduced } : { status: 'produced' };

/** What the dead-letter topic keeps of a notification: enough to replay it, never its clientState. */
function replayable(n: VerifiedChange): Record<string, unknown> {
  return {
    id: n.id ?? null,
    subscriptionId: n.subscriptionId,
    tenantId: n.tenantId,
    changeType: n.changeType,
    resource: n.resource,
    subscriptionExpirationDateTime: n.subscriptionExpirationDateTime ?? null,
  };
}
