import { Budget, BACKGROUND_STEP_MS } from '../model/budget.ts';
import { errorMessage } from '../errors.ts';
import type { BackgroundWork } from '../work/background-work.ts';
import { fenceScope } from '../fence/fence-types.ts';
import type { FetchOutcome } from '../model/item-read.ts';
import type { GraphClient } from '../graph/graph-client.ts';
import { graphErrorCode, judgeNotFound } from '../graph/gone-rule.ts';
import { graphPages } from '../graph/graph-reader.ts';
import type { EventProducer, EventUnit } from '../kafka/event-producer.ts';
import { KINDS } from '../kinds/index.ts';
import { seg } from '../kinds/mailbox-paths.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { changeRecords, type ChangeRecords } from '../model/record.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import type { Subscriptions } from '../model/subscription.ts';
import { seriesCollection, seriesDueCollection } from './series-collections.ts';
import type { ExpansionReport, SeriesDue, SeriesOrigin, SeriesRef, SeriesState } from './series-types.ts';
import type { ExpansionWindow } from '../model/subscription.ts';

const DAY_MS = 86_400_000;
/** Series expanded at once; each is one `/instances` read (a page per 100 occurrences). */
const ROUND = 10;
/** Dues and states one run looks at; what is left waits for the next run. */
const PER_RUN = 5_000;
/** Occurrences kept per series: a daily series over the longest window (366 + 31 days) stays well under it. */
const MAX_OCCURRENCES = 1_000;
const PAGE = 100;
/** After this many failed runs a due expansion is given up (the next day's window advance tries again). */
const MAX_ATTEMPTS = 48;
const MAX_READ_ATTEMPTS = 4;
/** What every occurrence record needs, whatever the subscription's `$select`. */
const OCCURRENCE_FIELDS = ['id', 'type', 'seriesMasterId', 'originalStart', 'start', 'end'];

/**
 * The window an expansion covers now: whole UTC days, so it moves once a day and a timer run that finds it
 * moved adds the occurrences of the day that came into view.
 */
export function expansionWindow(expand: ExpansionWindow, now: number): { from: number; to: number } {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return { from: today - expand.pastDays * DAY_MS, to: today + (expand.futureDays + 1) * DAY_MS };
}

type Page = { value?: Array<Record<string, unknown>>; '@odata.nextLink'?: string };

export interface SeriesExpanderOptions {
  /** The instance's background work, where drains after notifications queue. */
  work: BackgroundWork;
  store: DocumentStore;
  /** The subscriptions a series came through (the app's cached ones). */
  subscriptions: Subscriptions;
  graph: GraphClient;
  events: EventProducer;
  logger: Logger;
  metrics?: Metrics;
  /** Graph's clock (graph-sim's in tests): the window is placed around it. */
  now?: () => number;
}

/**
 * Produces recurring series as their occurrences too, for subscriptions whose entry asks for it
 * (`expandOccurrences`). A master's change marks its series due (a marker in the state store, written once the
 * master's record is in Kafka); a drain, opportunistic and on the timer, reads the series' instances in the
 * window and produces one record per occurrence (keyed by occurrence id, `source: "expansion"`, with the master's
 * id), and a tombstone for each occurrence produced last time that is no longer there (cancelled, moved out,
 * series shortened or deleted). The set produced is kept per series; occurrences that fell behind the window
 * as time passed are forgotten without a tombstone. Graph's answer never waits for any of it.
 */
export class SeriesExpander {
  /** Graph requests and expansions so far (the benchmark's cost per master change). */
  readonly stats = { graphRequests: 0, expansions: 0, occurrenceRecords: 0, tombstones: 0 };
  private readonly o: SeriesExpanderOptions;
  private readonly now: () => number;
  private readonly series: Collection<SeriesState, SeriesRef>;
  private readonly dues: Collection<SeriesDue, SeriesRef>;
  private draining: Promise<ExpansionReport> | undefined;
  private nudgeTimer: NodeJS.Timeout | undefined;

  constructor(options: SeriesExpanderOptions) {
    this.o = options;
    this.series = new Collection(options.store, seriesCollection);
    this.dues = new Collection(options.store, seriesDueCollection);
    this.now = options.now ?? Date.now;
  }

  /**
   * Marks the series of produced master records due. A delete marks a series only if graph2kafka knows it
   * (its occurrences then need their tombstones). Never throws: a failure is logged and the window advance
   * catches up.
   */
  async enqueue(changes: Array<{ origin: SeriesOrigin; itemId: string; outcome: FetchOutcome }>): Promise<void> {
    const dues = changes.filter(
      ({ outcome }) => outcome.kind === 'gone' || (outcome.kind === 'found' && outcome.item.type === 'seriesMaster'),
    );
    if (!dues.length) return;
    const changedAt = new Date(this.now()).toISOString();
    try {
      await Promise.all(
        dues.map(async ({ origin, itemId, outcome }) => {
          const ref: SeriesRef = { tenantId: origin.tenantId.toLowerCase(), userId: origin.userId, masterId: itemId };
          if (outcome.kind === 'gone' && !(await this.series.get(ref))) return;
          const version = outcome.kind === 'found' ? outcome.item.changeKey : undefined;
          await this.dues.put({
            ...ref,
            subscriptionId: origin.subscriptionId,
            ...(origin.select ? { select: origin.select } : {}),
            ...(origin.expand ? { expand: origin.expand } : {}),
            ...(typeof version === 'string' && version ? { masterVersion: version } : {}),
            changedAt,
            attempts: 0,
          });
        }),
      );
      this.nudge();
    } catch (err) {
      this.o.logger.error('marking series for expansion failed; the next timer run catches up', {
        error: errorMessage(err),
      });
    }
  }

  /**
   * What produced event records owe the expansion (registered with the emit path): a series master found, or an
   * event gone that was a known master, is marked due — once its record is in Kafka, from any path.
   */
  followUp(produced: ReadonlyArray<EventUnit>): Promise<void> {
    return this.enqueue(
      produced.flatMap(({ records: r, select }) =>
        r.kind.name !== 'events' || r.facts.source === 'expansion' || !(r.item || r.facts.gone)
          ? []
          : [
              {
                origin: {
                  tenantId: r.facts.tenantId,
                  userId: r.target.userId ?? '',
                  subscriptionId: r.facts.subscriptionId,
                  select,
                },
                itemId: r.itemId,
                outcome: r.item ? { kind: 'found' as const, item: r.item } : { kind: 'gone' as const },
              },
            ],
      ),
    );
  }

  /**
   * Drains soon, in the instance's background work (a nudge during a drain queues another after it); nudges
   * within 100 ms are one, so the markers of a burst of POSTs are drained together.
   */
  nudge(): void {
    if (this.nudgeTimer) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = undefined;
      this.o.work.add('series', () => this.drain(Date.now() + 60_000));
    }, 100);
    this.nudgeTimer.unref();
  }

  /**
   * Expands due series until `deadline`; with `advance` (the timer run) also the series whose window moved,
   * which takes a listing of every series state — not something to do after each notification.
   */
  async drain(deadline: number, options: { advance?: boolean } = {}): Promise<ExpansionReport> {
    while (this.draining) await this.draining.catch(() => undefined);
    const run = this.run(deadline, options.advance ?? false).finally(() => {
      this.draining = undefined;
    });
    this.draining = run;
    return run;
  }

  private async run(deadline: number, advance: boolean): Promise<ExpansionReport> {
    const report: ExpansionReport = { expanded: 0, advanced: 0, gone: 0, failed: 0, left: 0 };
    const dues = await this.dues.list({ limit: PER_RUN });
    const dueIds = new Set(dues.map(key));
    const now = this.now();
    // The backend lists only series whose window has moved, so a large fleet lists what is due, not all.
    const stale = advance
      ? (await this.series.list({ indexAtMost: new Date(now).toISOString(), limit: PER_RUN })).filter(
          (s) => !dueIds.has(key(s)) && s.expand,
        )
      : [];
    const work: Array<{ ref: SeriesRef; due?: SeriesDue; state?: SeriesState }> = [
      ...dues.map((due) => ({ ref: due, due })),
      ...stale.map((state) => ({ ref: state, state })),
    ];
    let next = 0;
    while (next < work.length && Date.now() < deadline) {
      const round = work.slice(next, next + ROUND);
      next += round.length;
      await Promise.all(round.map((w) => this.expandOne(w.ref, w.due, w.state, deadline, report)));
    }
    report.left = work.length - next;
    for (const result of ['expanded', 'advanced', 'gone', 'failed'] as const)
      this.o.metrics?.seriesExpanded(result, report[result]);
    if (report.expanded || report.advanced || report.gone || report.failed)
      this.o.logger.info('series expansion run', { ...report });
    return report;
  }

  private async expandOne(
    ref: SeriesRef,
    due: SeriesDue | undefined,
    known: SeriesState | undefined,
    deadline: number,
    report: ExpansionReport,
  ): Promise<void> {
    try {
      const previous = known ?? (await this.series.get(ref));
      const subscriptionId = due?.subscriptionId ?? previous!.subscriptionId;
      // The subscription's options as they are now (an edited entry applies to the next expansion).
      const sub = await this.o.subscriptions.get(subscriptionId);
      const expand = sub ? sub.expand : (due?.expand ?? previous?.expand);
      const select = sub ? sub.select : (due?.select ?? previous?.select);
      const base: SeriesState = {
        ...ref,
        subscriptionId,
        ...(select ? { select } : {}),
        occurrences: [],
        updatedAt: new Date(this.now()).toISOString(),
      };
      if (!expand) {
        // Masters only: the series is still known, so a resync can tell when it is deleted.
        await this.series.put(base);
        await this.clearDue(ref, due);
        return;
      }
      if (due && alreadyExpanded(due, previous, expand, select, this.now())) {
        await this.clearDue(ref, due);
        this.o.metrics?.seriesExpanded('unchanged');
        return;
      }
      const window = expansionWindow(expand, this.now());
      // The fence's token before the read: a newer expansion (another instance, a later change) wins.
      const scope = fenceScope(ref.tenantId, 'events', ref.userId);
      const token = (await this.o.events.observe([scope])).get(scope)!;
      const read = await this.instances(ref, window, select, deadline);
      const at = this.now();
      const facts = { tenantId: ref.tenantId, userId: ref.userId, masterId: ref.masterId, subscriptionId };
      const before = previous?.occurrences ?? [];
      let units: ChangeRecords[];
      let occurrences: SeriesState['occurrences'] = [];
      let retired: SeriesState['occurrences'] = [];
      if (read === 'gone') {
        units = before.map((o) => occurrenceRecords(facts, o.id, { kind: 'gone' }, at));
      } else {
        const seen = new Set(read.map((o) => String(o.id)));
        const known = new Set(before.map((o) => o.id));
        // A master's change may touch every occurrence; a window that only moved adds the new ones.
        const fresh = due ? read : read.filter((o) => !known.has(String(o.id)));
        const vanished = before.filter((o) => !seen.has(o.id) && Date.parse(o.originalStart) >= window.from);
        units = [
          ...fresh.map((item) => occurrenceRecords(facts, String(item.id), { kind: 'found', item }, at)),
          ...vanished.map((o) => occurrenceRecords(facts, o.id, { kind: 'gone' }, at)),
        ];
        occurrences = read.map((o) => ({ id: String(o.id), originalStart: originalStartOf(o) }));
        retired = [...(previous?.retired ?? []), ...vanished]
          .filter((o) => !seen.has(o.id) && Date.parse(o.originalStart) >= window.from)
          .slice(-MAX_OCCURRENCES);
      }
      const results = await this.o.events.produce(
        units.map((records) => ({ records, notification: null, token, select })),
        new Budget(deadline).part(BACKGROUND_STEP_MS).deadline,
      );
      const failed = results.find((r) => r.status === 'retry_later');
      if (failed) throw new Error(`Kafka did not take the occurrence records: ${failed.reason}`);
      this.stats.expansions++;
      this.stats.tombstones += units.filter((u) => u.records.length > 1).length;
      this.stats.occurrenceRecords += units.length;
      if (read === 'gone') {
        await this.series.delete(ref);
        report.gone++;
      } else {
        await this.series.put({
          ...base,
          expand,
          from: new Date(window.from).toISOString(),
          to: new Date(window.to).toISOString(),
          advanceAt: new Date((Math.floor(this.now() / DAY_MS) + 1) * DAY_MS).toISOString(),
          occurrences,
          ...(retired.length ? { retired } : {}),
          // An expansion without a known version (a window advance keeps the last one; a marker of an earlier
          // version has none) makes the next marker expand again.
          ...(due
            ? due.masterVersion
              ? { masterVersion: due.masterVersion }
              : {}
            : previous?.masterVersion
              ? { masterVersion: previous.masterVersion }
              : {}),
        });
        if (due) report.expanded++;
        else report.advanced++;
      }
      await this.clearDue(ref, due);
    } catch (err) {
      report.failed++;
      // A window advance that failed stays stale, so the next run tries it again; a due marker counts attempts.
      await this.failed(ref, due, errorMessage(err)).catch(() => undefined);
    }
  }

  /** The series' occurrences in the window, page by page; `gone` when Graph no longer has the master. */
  private async instances(
    ref: SeriesRef,
    window: { from: number; to: number },
    select: string | undefined,
    deadline: number,
  ): Promise<Array<Record<string, unknown>> | 'gone'> {
    const fields = select ? [...new Set([...select.split(','), ...OCCURRENCE_FIELDS])].join(',') : undefined;
    const query = [
      `startDateTime=${new Date(window.from).toISOString()}`,
      `endDateTime=${new Date(window.to).toISOString()}`,
      `$top=${PAGE}`,
      ...(fields ? [`$select=${fields}`] : []),
    ].join('&');
    const out: Array<Record<string, unknown>> = [];
    const first = `/users/${seg(ref.userId)}/events/${seg(ref.masterId)}/instances?${query}`;
    for await (const res of graphPages(this.o.graph, ref.tenantId, first, {
      deadline,
      maxAttempts: MAX_READ_ATTEMPTS,
      headers: { Prefer: 'IdType="ImmutableId"' },
      onAttempt: () => this.stats.graphRequests++,
    })) {
      const notFound = judgeNotFound(res, KINDS.events.goneCodes);
      if (notFound === 'gone') return 'gone';
      if (notFound === 'unreachable')
        throw new Error(
          `reading the series answered 404 ${graphErrorCode(res.body) ?? ''}: the mailbox is not reachable`,
        );
      if (res.status !== 200) throw new Error(`reading the series answered ${res.status}`);
      const page = res.body as Page;
      for (const item of page.value ?? []) if (typeof item.id === 'string') out.push(item);
      if (out.length >= MAX_OCCURRENCES) {
        this.o.logger.warn('series has more occurrences in the window than are expanded', {
          tenantId: ref.tenantId,
          userId: ref.userId,
          masterId: ref.masterId,
          kept: MAX_OCCURRENCES,
        });
        return out.slice(0, MAX_OCCURRENCES);
      }
    }
    return out;
  }

  /** Clears the marker, unless a newer change of the master replaced it while this expansion ran. */
  private async clearDue(ref: SeriesRef, due: SeriesDue | undefined): Promise<void> {
    if (!due) return;
    const current = await this.dues.get(ref);
    if (current && current.changedAt === due.changedAt) await this.dues.delete(ref);
  }

  private async failed(ref: SeriesRef, due: SeriesDue | undefined, error: string): Promise<void> {
    const attempts = (due?.attempts ?? 0) + 1;
    this.o.logger.warn('series expansion failed; retried by the next run', {
      tenantId: ref.tenantId,
      userId: ref.userId,
      masterId: ref.masterId,
      attempts,
      error,
    });
    if (!due) return;
    if (attempts >= MAX_ATTEMPTS) {
      this.o.logger.error('series expansion abandoned after repeated failures; the window advance retries', {
        masterId: ref.masterId,
      });
      await this.dues.delete(ref);
    } else await this.dues.put({ ...due, attempts, lastAttemptAt: new Date(this.now()).toISOString() });
  }
}

const key = (r: SeriesRef): string => `${r.tenantId.toLowerCase()}/${r.userId.toLowerCase()}/${r.masterId}`;

/** Graph gives `originalStart` as an ISO time (UTC offset); an occurrence without one keeps its start. */
function originalStartOf(o: Record<string, unknown>): string {
  if (typeof o.originalStart === 'string' && !Number.isNaN(Date.parse(o.originalStart)))
    return new Date(Date.parse(o.originalStart)).toISOString();
  const start = (o.start as { dateTime?: string } | undefined)?.dateTime;
  return start && !Number.isNaN(Date.parse(`${start}Z`)) ? new Date(Date.parse(`${start}Z`)).toISOString() : '';
}

/** One occurrence's record (or its tombstone): keyed by the occurrence's own id, naming its master. */
function occurrenceRecords(
  f: { tenantId: string; userId: string; masterId: string; subscriptionId: string },
  occurrenceId: string,
  outcome: FetchOutcome,
  at: number,
): ChangeRecords {
  const target = { userId: f.userId };
  return changeRecords(
    {
      source: 'expansion',
      changeType: outcome.kind === 'gone' ? 'deleted' : 'updated',
      kind: 'events',
      tenantId: f.tenantId,
      target,
      itemId: occurrenceId,
      resource: KINDS.events.itemResource(target, occurrenceId),
      subscriptionId: f.subscriptionId,
      seriesMasterId: f.masterId,
    },
    outcome,
    at,
  );
}

/**
 * Whether a due marker names the master version the series' last expansion was for, with the same options, in
 * a window that has not moved since: then the occurrences in Kafka are already this version's.
 */
function alreadyExpanded(
  due: SeriesDue,
  previous: SeriesState | undefined,
  expand: SeriesState['expand'],
  select: string | undefined,
  now: number,
): boolean {
  return (
    !!due.masterVersion &&
    previous?.masterVersion === due.masterVersion &&
    JSON.stringify(previous.expand) === JSON.stringify(expand) &&
    previous.select === select &&
    !!previous.advanceAt &&
    Date.parse(previous.advanceAt) > now
  );
}
