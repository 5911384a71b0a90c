import type { Config } from '../config/config.ts';
import { ProduceError } from '../errors.ts';
import type { EventFetcher, FetchOutcome } from '../graph/event-fetcher.ts';
import type { RecordSink } from '../kafka/producer.ts';
import type { Logger } from '../logger.ts';
import { eventRecords, lifecycleRecord, type KafkaRecord } from '../record.ts';
import type { SubscriptionRecord, SubscriptionStore } from '../state/subscription-store.ts';
import { answerHandshake } from './handshake.ts';
import { jsonResponse, type CoreRequest, type CoreResponse } from './http.ts';
import type { LifecycleNotification, Rejection } from './notification.ts';
import { parseChangeNotifications, parseLifecycleNotifications, type Parsed } from './parse.ts';
import { verify, type Verifiable } from './verify.ts';

/**
 * Graph's answer budget is 3 s; the time budget covers enrichment, the rest is Kafka's, and the answer leaves
 * with a margin, since Graph counts an answer after 3 s as a failure and as "slow".
 */
const ANSWER_BY_MS = 2_700;
/** Kafka always gets at least this long, even when enrichment used the whole budget. */
const MIN_PRODUCE_MS = 500;

export interface ReceiverCounters {
  posts: number;
  notifications: number;
  produced: number;
  notEnriched: number;
  rejected: Record<Rejection, number>;
  badRequests: number;
  unavailable: number;
}

/** Acts on a verified lifecycle notification (the subscription manager); throws when it could not. */
export type LifecycleAction = (
  n: LifecycleNotification,
  subscription: SubscriptionRecord,
  deadline: number,
) => Promise<void>;

export interface ReceiverDeps {
  config: Config;
  lifecycle?: LifecycleAction;
  store: SubscriptionStore;
  fetcher: EventFetcher;
  sink: RecordSink;
  logger: Logger;
  now?: () => number;
}

const retryLater = (reason: string): CoreResponse =>
  jsonResponse(503, { error: { code: 'RetryLater', message: reason } }, { 'Retry-After': '5' });

/**
 * The receive path: handshake, size cap, schema, verification, enrichment within the budget, one Kafka send
 * per POST, and Graph's answer — 202 only after Kafka acknowledged, 503 so Graph redelivers otherwise.
 */
export class NotificationReceiver {
  readonly counters: ReceiverCounters = {
    posts: 0,
    notifications: 0,
    produced: 0,
    notEnriched: 0,
    rejected: { unknown_subscription: 0, client_state_mismatch: 0, tenant_not_allowed: 0, tenant_mismatch: 0 },
    badRequests: 0,
    unavailable: 0,
  };
  private readonly deps: ReceiverDeps;
  private readonly now: () => number;

  constructor(deps: ReceiverDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  async handleNotifications(req: CoreRequest): Promise<CoreResponse> {
    const early = this.precheck(req);
    if (early) return early;
    const parsed = parseChangeNotifications(req.body!);
    const bad = this.badRequest(parsed);
    if (bad || !parsed.ok) return bad!;
    this.counters.posts++;
    this.counters.notifications += parsed.items.length;
    const accepted = await this.accept(parsed.items);
    if (!accepted.length) return this.accepted();

    const deadline = req.receivedAt + this.deps.config.timeBudgetMs;
    const outcomes = await Promise.all(
      accepted.map((n): Promise<FetchOutcome | 'deleted'> =>
        n.changeType === 'deleted'
          ? Promise.resolve('deleted')
          : this.deps.fetcher.fetch(n.tenantId, n.userId, n.eventId, deadline),
      ),
    );
    const records: KafkaRecord[] = accepted.flatMap((n, i) => eventRecords(n, outcomes[i]!, req.receivedAt));
    const notEnriched = outcomes.filter((o) => o !== 'deleted' && o.kind === 'failed');
    if (notEnriched.length) {
      this.counters.notEnriched += notEnriched.length;
      this.deps.logger.warn('producing notifications without enrichment', {
        count: notEnriched.length,
        reasons: [...new Set(notEnriched.map((o) => (o as { reason: string }).reason))],
      });
    }
    return this.produce(this.deps.config.topics.events, records, req.receivedAt, accepted.length);
  }

  async handleLifecycle(req: CoreRequest): Promise<CoreResponse> {
    const early = this.precheck(req);
    if (early) return early;
    const parsed = parseLifecycleNotifications(req.body!);
    const bad = this.badRequest(parsed);
    if (bad || !parsed.ok) return bad!;
    this.counters.posts++;
    this.counters.notifications += parsed.items.length;
    const verified = await this.verified(parsed.items);
    const accepted = verified.map(([n]) => n);
    for (const n of accepted) {
      this.deps.logger.info('lifecycle notification', {
        lifecycleEvent: n.lifecycleEvent,
        subscriptionId: n.subscriptionId,
        tenantId: n.tenantId,
      });
    }
    const answer = await this.produce(
      this.deps.config.topics.lifecycle,
      accepted.map((n) => lifecycleRecord(n, req.receivedAt)),
      req.receivedAt,
      accepted.length,
    );
    if (answer.status !== 202 || !this.deps.lifecycle) return answer;
    const deadline = req.receivedAt + this.deps.config.timeBudgetMs;
    try {
      for (const [n, subscription] of verified) await this.deps.lifecycle(n, subscription, deadline);
    } catch (err) {
      // Graph redelivers the lifecycle notification; the timer also reconciles meanwhile.
      this.deps.logger.error('acting on a lifecycle notification failed', { error: (err as Error).message });
      return retryLater(`lifecycle action failed, Graph will redeliver: ${(err as Error).message}`);
    }
    return answer;
  }

  /** Handshake, method, size and presence checks shared by both URLs. */
  private precheck(req: CoreRequest): CoreResponse | undefined {
    const handshake = answerHandshake(req.method, req.query);
    if (handshake) return handshake;
    if (req.method !== 'POST')
      return jsonResponse(
        405,
        { error: { code: 'MethodNotAllowed', message: 'Graph notifications are POSTs' } },
        { Allow: 'POST' },
      );
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.deps.config.maxBodyBytes || (req.body?.length ?? 0) > this.deps.config.maxBodyBytes) {
      this.counters.badRequests++;
      return jsonResponse(413, {
        error: { code: 'PayloadTooLarge', message: `bodies over ${this.deps.config.maxBodyBytes} bytes are refused` },
      });
    }
    if (!req.body?.length) {
      this.counters.badRequests++;
      return jsonResponse(400, {
        error: {
          code: 'BadRequest',
          message: 'an empty POST without validationToken is neither a handshake nor a notification',
        },
      });
    }
    return undefined;
  }

  private badRequest(parsed: Parsed<unknown>): CoreResponse | undefined {
    if (parsed.ok) return undefined;
    this.counters.badRequests++;
    this.deps.logger.warn('malformed notification POST refused', { reason: parsed.reason });
    return jsonResponse(400, { error: { code: 'BadRequest', message: parsed.reason } });
  }

  private async accept<T extends Verifiable>(items: T[]): Promise<T[]> {
    return (await this.verified(items)).map(([n]) => n);
  }

  /** Keeps what is really ours; forged or foreign items are counted and logged (without secrets), never produced. */
  private async verified<T extends Verifiable>(items: T[]): Promise<Array<[T, SubscriptionRecord]>> {
    const verdicts = await Promise.all(items.map((n) => verify(n, this.deps.store, this.deps.config.allowedTenants)));
    const accepted: Array<[T, SubscriptionRecord]> = [];
    verdicts.forEach((verdict, i) => {
      const n = items[i]!;
      if (verdict.ok) accepted.push([n, verdict.subscription]);
      else {
        this.counters.rejected[verdict.reason]++;
        this.deps.logger.warn('notification rejected', {
          reason: verdict.reason,
          subscriptionId: n.subscriptionId,
          tenantId: n.tenantId,
        });
      }
    });
    return accepted;
  }

  private async produce(
    topic: string,
    records: KafkaRecord[],
    receivedAt: number,
    notifications: number,
  ): Promise<CoreResponse> {
    const remaining = Math.max(MIN_PRODUCE_MS, receivedAt + ANSWER_BY_MS - this.now());
    try {
      await this.deps.sink.send(topic, records, remaining);
    } catch (err) {
      this.counters.unavailable++;
      const message = err instanceof ProduceError ? err.message : String(err);
      return retryLater(`not stored, Graph will redeliver: ${message}`);
    }
    this.counters.produced += notifications;
    return this.accepted();
  }

  private accepted(): CoreResponse {
    return { status: 202, headers: {}, body: '' };
  }
}
