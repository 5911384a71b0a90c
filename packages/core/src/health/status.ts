import type { Config } from '../config/config.ts';
import { kindOf } from '../kinds/index.ts';
import { subscriptionState } from '../metrics/subscription-snapshot.ts';
import type { SubscriptionState } from '../metrics/metrics.ts';
import type { Feature } from '../model/feature.ts';
import { STATUS_THRESHOLDS } from '../model/status-thresholds.ts';
import { Collection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';
import type { Subscriptions } from '../model/subscription.ts';
import { healthCollection } from './health-collection.ts';
import type { AnswerWindowRecord, TimerRunRecord } from './health-types.ts';

export const SECTION_LINES = Symbol('section lines');

/** What the status report reads: the configuration, the stored state, and the features' own sections. */
export interface StatusApp {
  config: Config;
  documents: DocumentStore;
  subscriptions: Subscriptions;
  features: readonly Feature[];
}

/**
 * The report: the subscriptions, the timer's runs and the endpoint's answers (the pipeline's own health), then
 * one entry per feature's section under its name (`repair`, `series`, `rounds`, `deadLetters` …).
 */
export interface StatusReport {
  checkedAt: string;
  healthy: boolean;
  /** What needs doing, most urgent first; empty when healthy. */
  actions: string[];
  subscriptions: {
    counts: Array<{ tenantId: string; kind: string; state: SubscriptionState; count: number }>;
    next: { id: string; tenantId: string; resource: string; expirationDateTime: string; hours: number } | null;
  };
  timer: { runs: TimerRunRecord[]; lastOkAt: string | null };
  answers: {
    minutes: number;
    posts: number;
    statuses: Record<string, number>;
    slow: number;
    items: AnswerWindowRecord['items'];
  };
  /** The features' lines of the text (`formatStatus`); a symbol, so the JSON report leaves them out. */
  [SECTION_LINES]: string[];
  /** Each feature's figures, by its section's name. */
  [section: string]: unknown;
}

const hoursBetween = (from: number, to: number): number => Math.round(((to - from) / 3_600_000) * 10) / 10;
const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;

/**
 * One look at the pipeline for an operator: the stored subscriptions and the next expiry, the last timer runs,
 * the repair backlog, the dead-letter topic and the endpoint's recent answers (what the instances left in the
 * state store), with the actions each calls for. Reads the store and Kafka; asks Graph nothing.
 */
export async function pipelineStatus(app: StatusApp, now: number = Date.now()): Promise<StatusReport> {
  const t = STATUS_THRESHOLDS;
  const actions: string[] = [];
  const [records, health] = await Promise.all([
    app.subscriptions.list(),
    new Collection(app.documents, healthCollection).list(),
  ]);
  const sections = app.features.flatMap((f) => (f.status ? [f.status] : []));
  const parts = await Promise.all(sections.map((s) => s.read({ now, subscriptions: records })));

  const renewWithinMs = (app.config.subscriptions?.renewWithinMinutes ?? 2_880) * 60_000;
  const counts = new Map<string, StatusReport['subscriptions']['counts'][number]>();
  let next: StatusReport['subscriptions']['next'] = null;
  // Pending markers (a create under way) are not subscriptions; the next reconcile removes them.
  for (const r of records.filter((x) => !x.pending)) {
    const state = subscriptionState(r, now, renewWithinMs);
    const kind = kindOf(r).name;
    const key = `${r.tenantId}|${kind}|${state}`;
    const c = counts.get(key) ?? { tenantId: r.tenantId, kind, state, count: 0 };
    c.count++;
    counts.set(key, c);
    if (state === 'expired')
      actions.push(
        `subscription ${r.id} (${r.resource}, tenant ${r.tenantId}) expired at ${r.expirationDateTime}: run graph2kafka subscriptions create (it recreates and resyncs), then find why the timer did not renew it`,
      );
    const at = Date.parse(r.expirationDateTime);
    if (state !== 'expired' && (!next || at < Date.parse(next.expirationDateTime)))
      next = {
        id: r.id,
        tenantId: r.tenantId,
        resource: r.resource,
        expirationDateTime: r.expirationDateTime,
        hours: hoursBetween(now, at),
      };
  }
  if (next && next.hours < t.expiryWithinHours)
    actions.push(
      `subscription ${next.id} (${next.resource}) expires in ${next.hours} h, within ${t.expiryWithinHours} h: the timer's renewals are failing (see the timer runs below) or G2K_SUBSCRIPTION_MINUTES is below a day`,
    );
  if (app.config.subscriptions && !records.some((r) => !r.pending))
    actions.push(
      'no subscription is stored although the subscription manager is on: run graph2kafka subscriptions create, or check that the timer runs',
    );

  const runs = health
    .filter((h): h is TimerRunRecord => h.type === 'timer_run')
    .sort((a, b) => b.id.localeCompare(a.id));
  const lastOk = runs.find((r) => r.ok);
  if (runs[0] && !runs[0].ok)
    actions.push(
      `the last timer run (${runs[0].startedAt}) failed: ${runs[0].errors[0] ?? 'see the function logs'}${lastOk ? `; last good run ${lastOk.startedAt}` : ''}`,
    );
  if (app.config.subscriptions) {
    const latest = runs[0] ? Date.parse(runs[0].startedAt) : undefined;
    if (latest === undefined)
      actions.push('no timer run is recorded: check that the renewal timer (or Cloud Scheduler job) is deployed');
    else if (now - latest > t.timerSilentHours * 3_600_000)
      actions.push(
        `no timer run for ${hoursBetween(latest, now)} h (last ${runs[0]!.startedAt}): check the renewal timer or Cloud Scheduler job`,
      );
  }

  const since = now - t.answersWindowMinutes * 60_000;
  const windows = health.filter((h): h is AnswerWindowRecord => h.type === 'answers' && Date.parse(h.to) >= since);
  const answers: StatusReport['answers'] = {
    minutes: t.answersWindowMinutes,
    posts: 0,
    statuses: {},
    slow: 0,
    items: { produced: 0, rejected: 0, deadLettered: 0, retryLater: 0, unenriched: 0, readLimited: 0 },
  };
  for (const w of windows) {
    for (const [status, n] of Object.entries(w.statuses)) {
      answers.statuses[status] = (answers.statuses[status] ?? 0) + n;
      answers.posts += n;
    }
    answers.slow += w.slow;
    for (const k of Object.keys(answers.items) as Array<keyof AnswerWindowRecord['items']>)
      answers.items[k] = (answers.items[k] ?? 0) + (w.items[k] ?? 0);
  }
  if (answers.posts) {
    const serverErrors = Object.entries(answers.statuses)
      .filter(([s]) => s.startsWith('5'))
      .reduce((n, [, v]) => n + v, 0);
    if (serverErrors / answers.posts > t.serverErrorShare)
      actions.push(
        `${percent(serverErrors / answers.posts)} of the last ${t.answersWindowMinutes} min's POSTs were answered 5xx (Graph redelivers them): Kafka or the state store is failing; see the function logs`,
      );
    if (answers.slow / answers.posts > t.slowShare)
      actions.push(
        `${percent(answers.slow / answers.posts)} of the POSTs took over 2.9 s: Graph delays (and then drops) notifications to a slow endpoint; see docs/runbook.md`,
      );
  }
  const changes = answers.items.produced;
  // Past a POST's read limit is what made-up ids sent with one clientState cause, not Graph: shown, not an action.
  const unenriched = answers.items.unenriched - (answers.items.readLimited ?? 0);
  if (changes && unenriched / changes > t.unenrichedShare)
    actions.push(
      `${percent(unenriched / changes)} of the records went out without their item (Graph throttling or the token endpoint): they are repaired, but check Graph's throttling`,
    );

  // The pipeline's own actions first, then the features' in the order they were registered.
  actions.push(...parts.flatMap((p) => p.actions));
  return {
    checkedAt: new Date(now).toISOString(),
    healthy: actions.length === 0,
    actions,
    ...Object.fromEntries(sections.map((section, i) => [section.name, parts[i]!.value])),
    subscriptions: {
      counts: [...counts.values()].sort((a, b) => `${a.tenantId}${a.kind}`.localeCompare(`${b.tenantId}${b.kind}`)),
      next,
    },
    timer: { runs: runs.slice(0, 5), lastOkAt: lastOk?.startedAt ?? null },
    answers,
    [SECTION_LINES]: parts.flatMap((p) => p.lines),
  };
}

/** The report as an operator reads it in a terminal. */
export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  lines.push(`graph2kafka status at ${report.checkedAt}: ${report.healthy ? 'healthy' : 'NEEDS ACTION'}`);
  for (const a of report.actions) lines.push(`  ! ${a}`);
  lines.push('', 'Subscriptions (state store)');
  if (!report.subscriptions.counts.length) lines.push('  none');
  for (const c of report.subscriptions.counts)
    lines.push(`  ${c.tenantId}  ${c.kind.padEnd(9)} ${c.state.padEnd(12)} ${c.count}`);
  const n = report.subscriptions.next;
  if (n) lines.push(`  next expiry ${n.expirationDateTime} (in ${n.hours} h): ${n.id} ${n.resource}`);
  lines.push('', 'Timer runs (latest first)');
  if (!report.timer.runs.length) lines.push('  none recorded');
  for (const r of report.timer.runs)
    lines.push(
      `  ${r.startedAt}  ${r.ok ? 'ok    ' : 'FAILED'}  ${r.seconds} s  created ${r.created}, renewed ${r.renewed}, recreated ${r.recreated}, deferred ${r.deferred}, repaired ${r.repaired}, repairs left ${r.repairLeft}${r.errors.length ? `; ${r.errors[0]}` : ''}`,
    );
  lines.push('', ...report[SECTION_LINES]);
  const a = report.answers;
  const statuses = Object.entries(a.statuses)
    .sort()
    .map(([s, v]) => `${s}: ${v}`)
    .join(', ');
  lines.push(
    `Answers to Graph, last ${a.minutes} min: ${a.posts} POST(s)${a.posts ? ` (${statuses}), ${a.slow} over 2.9 s` : ''}; items produced ${a.items.produced}, unenriched ${a.items.unenriched}, rejected ${a.items.rejected}, dead-lettered ${a.items.deadLettered}, retried ${a.items.retryLater}`,
  );
  const limited = a.items.readLimited ?? 0;
  if (a.items.rejected || limited)
    lines.push(
      `Not from Graph, or not as Graph sends it (no action by itself): ${a.items.rejected} item(s) rejected (foreign, forged, out of scope), ${limited} unenriched past a POST's 200-read limit (made-up ids sent with one subscription's clientState look like this; docs/runbook.md)`,
    );
  return lines.join('\n');
}
