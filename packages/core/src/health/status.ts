import type { Graph2Kafka } from '../app.ts';
import { errorMessage } from '../errors.ts';
import { kindOf } from '../kinds/index.ts';
import { subscriptionState } from '../metrics/subscription-snapshot.ts';
import type { SubscriptionState } from '../metrics/metrics.ts';
import { repairCollection } from '../repair/repair-collection.ts';
import { seriesDueCollection } from '../series/series-collections.ts';
import { Collection } from '../state/collection.ts';
import type { SubscriptionRecord } from '../subscriptions/subscription-types.ts';
import { syncCollection } from '../subscriptions/sync-collection.ts';
import type { MailboxSyncState } from '../subscriptions/sync-types.ts';
import { healthCollection } from './health-collection.ts';
import type { AnswerWindowRecord, TimerRunRecord } from './health-types.ts';
import { withTimeout } from '../timeout.ts';

/**
 * When something needs an operator: the same thresholds as the alert rules in infra/ (docs/operations.md).
 * A subscription within a day of expiry has missed at least one day of renewals (the timer renews two days
 * ahead by default); Graph marks an endpoint slow when more than 10% of its answers take over 3 s.
 */
export const STATUS_THRESHOLDS = {
  expiryWithinHours: 24,
  timerSilentHours: 2,
  repairWaitingHours: 1,
  answersWindowMinutes: 15,
  serverErrorShare: 0.05,
  unenrichedShare: 0.1,
  slowShare: 0.1,
} as const;

const REPAIRS_LISTED = 10_000;
/** An unreachable Kafka is named after this long, not after the client's whole retry schedule. */
const KAFKA_WAIT_MS = 10_000;

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
  repair: { waiting: number; atLeast: boolean; oldestFirstSeenAt: string | null };
  /** Recurring series owed an expansion (occurrence records), and how many of them failed before. */
  series: { due: number; atLeast: boolean; failing: number };
  /**
   * Delta rounds: targets whose snapshot is under way (items produced so far), resyncs owed, and targets whose
   * last round (the sweep's) is older than twice the default sweep interval.
   */
  rounds: { snapshotting: number; snapshotItems: number; resyncing: number; sweepOverdue: number };
  deadLetters: { topic: string; total: number; notReplayed: number } | { topic: string; error: string };
  answers: {
    minutes: number;
    posts: number;
    statuses: Record<string, number>;
    slow: number;
    items: AnswerWindowRecord['items'];
  };
}

const hoursBetween = (from: number, to: number): number => Math.round(((to - from) / 3_600_000) * 10) / 10;
const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;

/**
 * One look at the pipeline for an operator: the stored subscriptions and the next expiry, the last timer runs,
 * the repair backlog, the dead-letter topic and the endpoint's recent answers (what the instances left in the
 * state store), with the actions each calls for. Reads the store and Kafka; asks Graph nothing.
 */
export async function pipelineStatus(app: Graph2Kafka, now: number = Date.now()): Promise<StatusReport> {
  const t = STATUS_THRESHOLDS;
  const actions: string[] = [];
  const letters = app.deadLetters();
  const [records, health, repairs, seriesDue, deadLetters, syncStates] = await Promise.all([
    app.subscriptions.list(),
    new Collection(app.documents, healthCollection).list(),
    new Collection(app.documents, repairCollection).list({ limit: REPAIRS_LISTED }),
    new Collection(app.documents, seriesDueCollection).list({ limit: REPAIRS_LISTED }),
    withTimeout(
      letters.counts(),
      KAFKA_WAIT_MS,
      () => new Error(`Kafka did not answer within ${KAFKA_WAIT_MS / 1_000} s`),
    ).then(
      (c) => ({ topic: letters.topics.join(', '), ...c }),
      (err: unknown) => ({ topic: letters.topics.join(', '), error: errorMessage(err) }),
    ),
    new Collection(app.documents, syncCollection).list(),
  ]);
  const rounds = roundsOf(syncStates, records, app.config.subscriptions?.sweepHours ?? 0, now);
  if (rounds.sweepOverdue)
    actions.push(
      `${rounds.sweepOverdue} target(s) had no delta round for over twice G2K_SWEEP_HOURS: the timer runs out of time before the sweep reaches them (check its runs) or their rounds fail`,
    );

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

  const oldest = repairs.reduce<string | null>((o, r) => (o === null || r.firstSeenAt < o ? r.firstSeenAt : o), null);
  if (oldest && now - Date.parse(oldest) > t.repairWaitingHours * 3_600_000)
    actions.push(
      `${repairs.length}${repairs.length >= REPAIRS_LISTED ? '+' : ''} record(s) wait for repair, the oldest since ${oldest}: Graph still refuses the reads (throttling, consent) or the timer does not run; graph2kafka repair retries now`,
    );

  const failing = seriesDue.filter((d) => d.attempts > 0);
  const oldestDue = seriesDue.reduce<string | null>((o, d) => (o === null || d.changedAt < o ? d.changedAt : o), null);
  if (failing.length && oldestDue && now - Date.parse(oldestDue) > t.repairWaitingHours * 3_600_000)
    actions.push(
      `${failing.length} recurring series wait for their occurrence records since ${oldestDue} (expansion failing): check the timer's logs for "series expansion failed"`,
    );

  const previous = app.config.rich?.previous;
  if (previous && !records.some((r) => !r.pending && r.encryptionCertificateId === previous.id))
    actions.push(
      `no subscription uses the previous rich-notification certificate ${previous.id} any more: remove G2K_RICH_PREVIOUS_CERTIFICATE_ID and G2K_RICH_PREVIOUS_PRIVATE_KEY (and its secret)`,
    );

  if ('error' in deadLetters)
    actions.push(`the dead-letter topic ${deadLetters.topic} could not be read: ${deadLetters.error}`);
  else if (deadLetters.notReplayed)
    actions.push(
      `${deadLetters.notReplayed} dead letter(s) not replayed in ${deadLetters.topic}: graph2kafka deadletter list shows why, deadletter replay retries them`,
    );

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

  return {
    checkedAt: new Date(now).toISOString(),
    healthy: actions.length === 0,
    actions,
    subscriptions: {
      counts: [...counts.values()].sort((a, b) => `${a.tenantId}${a.kind}`.localeCompare(`${b.tenantId}${b.kind}`)),
      next,
    },
    timer: { runs: runs.slice(0, 5), lastOkAt: lastOk?.startedAt ?? null },
    repair: { waiting: repairs.length, atLeast: repairs.length >= REPAIRS_LISTED, oldestFirstSeenAt: oldest },
    series: { due: seriesDue.length, atLeast: seriesDue.length >= REPAIRS_LISTED, failing: failing.length },
    rounds,
    deadLetters,
    answers,
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
  lines.push(
    '',
    `Repair queue: ${report.repair.waiting}${report.repair.atLeast ? '+' : ''} waiting${report.repair.oldestFirstSeenAt ? `, oldest since ${report.repair.oldestFirstSeenAt}` : ''}`,
  );
  lines.push(
    `Series expansion: ${report.series.due}${report.series.atLeast ? '+' : ''} due${report.series.failing ? `, ${report.series.failing} after failures` : ''}`,
  );
  const r = report.rounds;
  lines.push(
    `Delta rounds: snapshots under way ${r.snapshotting} (${r.snapshotItems} item(s) produced so far), resyncs owed ${r.resyncing}, sweeps overdue ${r.sweepOverdue}`,
  );
  const d = report.deadLetters;
  lines.push(
    'error' in d
      ? `Dead letters (${d.topic}): unreadable: ${d.error}`
      : `Dead letters (${d.topic}): ${d.total}, of which ${d.notReplayed} not replayed`,
  );
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

/** Snapshot progress, resyncs owed and overdue sweeps, from the targets' sync states. */
function roundsOf(
  states: MailboxSyncState[],
  records: SubscriptionRecord[],
  sweepHours: number,
  now: number,
): StatusReport['rounds'] {
  const key = (s: {
    tenantId: string;
    kind?: string | undefined;
    userId: string;
    folderId?: string | undefined;
  }): string => `${s.tenantId.toLowerCase()}|${s.kind ?? 'events'}|${s.userId.toLowerCase()}|${s.folderId ?? ''}`;
  // Targets still subscribed: a state left behind by a removed subscription is swept no more.
  const subscribed = new Set(records.filter((r) => !r.pending).map(key));
  const own = states.filter((s) => !s.scope && subscribed.has(key(s)));
  const snapshotting = own.filter((s) => s.snapshotPending);
  const under = new Set(snapshotting.map(key));
  return {
    snapshotting: snapshotting.length,
    snapshotItems: states.filter((s) => under.has(key(s))).reduce((n, s) => n + (s.snapshotItems ?? 0), 0),
    resyncing: own.filter((s) => s.resyncPending).length,
    sweepOverdue: sweepHours
      ? own.filter((s) => !s.snapshotPending && now - Date.parse(s.updatedAt) > 2 * sweepHours * 3_600_000).length
      : 0,
  };
}
