// `pnpm bench:rich`: rich notifications beside basic ones. The same events, delivered by graph-sim in POSTs of 1
// and of 20 to the webhook, produced into real Kafka — and, in the same run, rich Teams messages (one chat and
// one channel per mailbox, subscribed per chat and per channel): Graph requests per notification (rich: 0),
// throughput and the ack latency Graph sees; then the cost of one item's decryption and of one POST's token
// check (warm keys, and cold: the key set fetched first).
//
//   pnpm bench:rich                       1,000 notifications per phase, 20 mailboxes per mode
//   pnpm bench:rich --notifications 5000
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPrivateKey } from 'node:crypto';
import {
  createAppFromEnv,
  createEncryptionCertificate,
  decryptContent,
  silentLogger,
  trustingFetch,
  ValidationTokenVerifier,
} from '@graph2kafka/core';
import { encryptResource, GraphSim } from '@graph2kafka/graph-sim';
import { provideBroker } from '@graph2kafka/kafka-local';
import { pipelineEnv, richEnv, TopicReader } from '@graph2kafka/testkit';
import { serveApp } from '@graph2kafka/core/http';
import { parseCommandLine } from '../args.ts';

const USAGE = `pnpm bench:rich [options]: rich notifications beside basic ones, into real Kafka
  --notifications N   notifications per phase (default 1000)
  --mailboxes N       mailboxes per mode, basic and rich, and Teams chats and channels (default 20)`;
const { values: args } = parseCommandLine(USAGE, {
  options: { notifications: { type: 'string', default: '1000' }, mailboxes: { type: 'string', default: '20' } },
});
const perPhase = Number(args.notifications);
const mailboxes = Number(args.mailboxes);
const log = (line: string): void => console.log(`[bench:rich] ${line}`);
const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

const kafka = await provideBroker(log);
const sim = await GraphSim.start({
  delivery: { batchWindowMs: 20 },
  extraUsersPerTenant: 2 * mailboxes,
  tokenLifetimeMinutes: { min: 20_000, max: 20_000 },
  maxRecords: 200_000,
});
try {
  const users = sim.directory
    .listUsers(sim.defaults.tenantId)
    .filter((u) => u.userPrincipalName.startsWith('user-'))
    .map((u) => u.id);
  const basicUsers = users.slice(0, mailboxes);
  const richUsers = users.slice(mailboxes, 2 * mailboxes);
  const tenantId = sim.defaults.tenantId;
  const teamId = sim.addTeam(tenantId, { displayName: 'Bench' }).id;
  const channels = Array.from({ length: mailboxes }, (_, i) => sim.addChannel(teamId, { displayName: `c${i}` }).id);
  const chats = Array.from({ length: mailboxes }, (_, i) =>
    String(sim.addChat(tenantId, { chatType: 'group', topic: `bench ${i}` }).id),
  );
  const cert = await createEncryptionCertificate('bench-rich');
  const file = path.join(tmpdir(), `g2k-bench-rich-${process.pid}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      subscriptions: [
        { kind: 'events', users: basicUsers },
        { kind: 'events', users: richUsers, mode: 'rich' },
        { kind: 'chatMessages', chats, mode: 'rich' },
        { kind: 'channelMessages', channels: channels.map((c) => `${teamId}/${c}`), mode: 'rich' },
      ],
    }),
  );
  const port = 18_000 + (process.pid % 1000);
  const setup = pipelineEnv(sim, {
    KAFKA_BROKERS: kafka.brokers.join(','),
    G2K_SUBSCRIPTIONS_FILE: file,
    G2K_NOTIFICATION_URL: `http://127.0.0.1:${port}/notifications`,
    G2K_LIFECYCLE_URL: `http://127.0.0.1:${port}/lifecycle`,
    ...richEnv(sim, cert),
  });
  const app = await createAppFromEnv(setup.env, [], { logger: silentLogger });
  const served = await serveApp(app, port);
  const reader = await TopicReader.start(kafka.brokers, setup.topic);
  const teamsReaders = await Promise.all(
    [setup.topics.chatMessages, setup.topics.channelMessages].map((t) => TopicReader.start(kafka.brokers, t)),
  );
  const inTeamsTopics = async (): Promise<number> =>
    (await Promise.all(teamsReaders.map((r) => r.readToEnd()))).reduce((n, records) => n + records.length, 0);
  const report = await app.manager!.reconcile();
  if (report.errors.length) throw new Error(report.errors.join('; '));
  log(
    `${report.created.length} subscriptions (${mailboxes} basic events, ${mailboxes} rich events, ${mailboxes} rich chats, ${mailboxes} rich channels); ${perPhase} notifications per phase`,
  );
  /** One phase's changes: events in the mode's mailboxes, or Teams messages half in chats, half in channels. */
  const phases = [
    {
      mode: 'basic events',
      change: (i: number, size: number) =>
        sim.createEvent(basicUsers[i % mailboxes]!, { subject: `basic ${size} ${i}` }),
      inKafka: async () => (await reader.readToEnd()).length,
    },
    {
      mode: 'rich events',
      change: (i: number, size: number) => sim.createEvent(richUsers[i % mailboxes]!, { subject: `rich ${size} ${i}` }),
      inKafka: async () => (await reader.readToEnd()).length,
    },
    {
      mode: 'rich Teams',
      change: (i: number, size: number) => {
        const body = { content: `<p>rich ${size} ${i}</p>` };
        if (i % 2) sim.postChatMessage(chats[i % mailboxes]!, { body });
        else sim.postChannelMessage(teamId, channels[i % mailboxes]!, { body });
      },
      inKafka: inTeamsTopics,
    },
  ];

  const delivery = sim.options.delivery as { maxNotificationsPerPost: number };
  for (const size of [1, 20]) {
    delivery.maxNotificationsPerPost = size;
    for (const { mode, change, inKafka } of phases) {
      const requestsBefore = app.fetcher.stats.graphRequests;
      const attemptsBefore = sim.records.attempts.all().length;
      const inKafkaBefore = await inKafka();
      const started = performance.now();
      for (let i = 0; i < perPhase; i++) change(i, size);
      await sim.settled(300_000);
      const inKafkaAfter = await inKafka();
      const seconds = (performance.now() - started) / 1000;
      const posts = sim.records.attempts
        .all()
        .slice(attemptsBefore)
        .filter((a) => a.kind === 'change' && a.outcome === 'delivered');
      const latency = posts.map((a) => a.durationMs).sort((a, b) => a - b);
      const requests = app.fetcher.stats.graphRequests - requestsBefore;
      log(
        `${mode.padEnd(12)} POSTs of ${String(size).padStart(2)}: ${(requests / perPhase).toFixed(3)} Graph requests per notification, ${(perPhase / seconds).toFixed(0)} notifications/s, ack p50 ${pct(latency, 0.5).toFixed(0)} ms p99 ${pct(latency, 0.99).toFixed(0)} ms (${posts.length} POSTs), in Kafka ${inKafkaAfter - inKafkaBefore}/${perPhase}`,
      );
    }
  }
  await reader.stop();
  for (const r of teamsReaders) await r.stop();
  await served.close();
  await app.close();

  // The per-item and per-POST costs of the checks themselves.
  const key = createPrivateKey(cert.privateKeyPem);
  const keys = new Map([[cert.id, key]]);
  const event = sim.eventJson(richUsers[0]!, sim.listEvents(richUsers[0]!)[0]!.immutableId);
  const contents = Array.from({ length: 500 }, () => encryptResource(event, cert.certificate, cert.id));
  let t = performance.now();
  for (const c of contents) if (!decryptContent(c, keys).ok) throw new Error('decryption failed');
  log(
    `decryption: ${((performance.now() - t) / contents.length).toFixed(3)} ms per item (RSA-OAEP unwrap, HMAC, AES-CBC; ${JSON.stringify(event).length} bytes of JSON)`,
  );
  const keySet = trustingFetch(sim.caCertPem);
  const verifier = () =>
    new ValidationTokenVerifier({
      jwksUrl: `${sim.urls.authority}/common/discovery/v2.0/keys`,
      appIds: [sim.defaults.clientId],
      authorityHost: sim.urls.authority,
      fetch: keySet.fetch,
    });
  const tokens = await Promise.all(
    Array.from({ length: 500 }, () => sim.validationToken(sim.defaults.clientId, sim.defaults.tenantId)),
  );
  const cold: number[] = [];
  for (const token of tokens.slice(0, 20)) {
    t = performance.now();
    if (!(await verifier().verify([token])).ok) throw new Error('token refused');
    cold.push(performance.now() - t);
  }
  const warm = verifier();
  await warm.verify([tokens[20]!]);
  t = performance.now();
  for (const token of tokens.slice(21)) if (!(await warm.verify([token])).ok) throw new Error('token refused');
  log(
    `validationTokens: ${((performance.now() - t) / (tokens.length - 21)).toFixed(3)} ms per POST with warm keys; cold (key set fetched from graph-sim first) p50 ${pct(
      cold.sort((a, b) => a - b),
      0.5,
    ).toFixed(1)} ms, max ${Math.max(...cold).toFixed(1)} ms`,
  );
  await keySet.close();
} finally {
  await sim.stop();
  await kafka.stop();
}
