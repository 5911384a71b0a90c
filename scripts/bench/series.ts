// `pnpm bench:series`: what occurrence expansion costs. Weekly series (three days a week, no end) in many
// mailboxes with `expandOccurrences`, through graph-sim's notification delivery, the webhook and real Kafka;
// then one change of every master (an occurrence cancelled), then a day passing (the timer's window advance).
// Prints per master change the Graph requests of the notification path and of the expansion, the records
// produced, and the time from the change to its last occurrence record.
//
//   pnpm bench:series                                     200 series in 20 mailboxes, a 90-day window
//   pnpm bench:series --series 1000 --mailboxes 50 --days 366
import { createAppFromEnv, silentLogger } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { provideBroker } from '@graph2kafka/kafka-local';
import { createSubscription, pipelineEnv, TopicReader } from '@graph2kafka/testkit';
import { serveApp } from '@graph2kafka/core/http';
import { parseCommandLine } from '../args.ts';

const USAGE = `pnpm bench:series [options]: what expanding recurring series into occurrence records costs
  --series N      weekly series (default 200)
  --mailboxes N   mailboxes they are spread over (default 20)
  --days N        days ahead the occurrences are expanded (default 90)`;
const { values: args } = parseCommandLine(USAGE, {
  options: {
    series: { type: 'string', default: '200' },
    mailboxes: { type: 'string', default: '20' },
    days: { type: 'string', default: '90' },
  },
});
const seriesCount = Number(args.series);
const mailboxCount = Number(args.mailboxes);
const futureDays = Number(args.days);
const log = (line: string): void => console.log(`[bench:series] ${line}`);
const DAY = 86_400_000;

const kafka = await provideBroker(log);
const sim = await GraphSim.start({
  delivery: { batchWindowMs: 20 },
  extraUsersPerTenant: mailboxCount,
  tokenLifetimeMinutes: { min: 20_000, max: 20_000 },
  maxRecords: 100_000,
});
try {
  const setup = pipelineEnv(sim, { KAFKA_BROKERS: kafka.brokers.join(',') });
  const app = await createAppFromEnv(setup.env, [], { logger: silentLogger, graphNow: () => sim.clock.now() });
  const served = await serveApp(app);
  const reader = await TopicReader.start(kafka.brokers, setup.topic);
  const users = sim.directory
    .listUsers(sim.defaults.tenantId)
    .filter((u) => u.userPrincipalName.startsWith('user-'))
    .slice(0, mailboxCount)
    .map((u) => u.id);
  for (const userId of users) {
    const record = await createSubscription(sim, app.subscriptions, {
      userId,
      notificationUrl: served.notificationUrl,
    });
    await app.subscriptions.put({ ...record, expand: { pastDays: 0, futureDays } });
  }
  const today = Math.floor(sim.clock.now() / DAY) * DAY;
  const startDate = new Date(today + DAY).toISOString().slice(0, 10);

  /** One phase: what the notification path and the expansion cost, per master change. */
  const phase = async (name: string, act: () => void, changes: number): Promise<void> => {
    // Nothing left from the phase before (a background drain a late nudge started).
    await app.series.drain(Date.now() + 600_000);
    await new Promise((r) => setTimeout(r, 300));
    await app.series.drain(Date.now() + 600_000);
    const fetchBefore = { ...app.fetcher.stats };
    const seriesBefore = { ...app.series.stats };
    const started = performance.now();
    act();
    await sim.settled(120_000);
    const hot = {
      requests: app.fetcher.stats.graphRequests - fetchBefore.graphRequests,
      reads: app.fetcher.stats.itemsRequested - fetchBefore.itemsRequested,
    };
    // Expansion runs in the background once masters are in Kafka; this drain waits for it and finishes the rest.
    const report = await app.series.drain(Date.now() + 600_000, { advance: true });
    const ms = performance.now() - started;
    const s = app.series.stats;
    const requests = s.graphRequests - seriesBefore.graphRequests;
    const records = s.occurrenceRecords - seriesBefore.occurrenceRecords;
    const tombstones = s.tombstones - seriesBefore.tombstones;
    const per = (n: number): string => (changes ? (n / changes).toFixed(2) : '-');
    log(
      `${name.padEnd(16)} ${String(changes).padStart(5)} series | notification path: ${per(hot.requests)} $batch requests, ${per(hot.reads)} reads per change | expansion: ${per(requests)} Graph requests, ${per(records)} records (${per(tombstones)} tombstones) per series; ${(ms / 1000).toFixed(1)} s from the change to the last occurrence record; failed ${report.failed}`,
    );
  };

  const masters: Array<{ userId: string; id: string; immutableId: string }> = [];
  await phase(
    'series created',
    () => {
      for (let i = 0; i < seriesCount; i++) {
        const userId = users[i % users.length]!;
        const e = sim.createEvent(userId, {
          subject: `series ${i}`,
          start: `${startDate}T09:00:00Z`,
          end: `${startDate}T09:30:00Z`,
          recurrence: {
            pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday', 'wednesday', 'friday'] },
            range: { type: 'noEnd', startDate },
          },
        });
        masters.push({ userId, id: e.id, immutableId: e.immutableId });
      }
    },
    seriesCount,
  );
  await phase(
    'one cancelled',
    () => {
      for (const m of masters) {
        const first = sim.calendar.instances(sim.calendar.find(m.userId, m.id)!, today, today + 14 * DAY)[1]!;
        sim.deleteEvent(
          m.userId,
          `${m.immutableId}_${new Date(first.originalStartMs).toISOString().replace(/[-:]|\.\d+/g, '')}`,
        );
      }
    },
    seriesCount,
  );
  await phase('a day passes', () => sim.clock.advance(DAY), seriesCount);
  const inKafka = await reader.readToEnd();
  const occurrenceRecords = inKafka.filter((r) => r.headers['g2k-source'] === 'expansion').length;
  log(
    `in Kafka: ${inKafka.length} records, ${occurrenceRecords} of them the expansion's (expected ${app.series.stats.occurrenceRecords + app.series.stats.tombstones}: a tombstone is a record and its null)`,
  );
  await reader.stop();
  await served.close();
  await app.close();
} finally {
  await sim.stop();
  await kafka.stop();
}
