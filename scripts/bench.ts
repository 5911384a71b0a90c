// `pnpm bench`: the receive path under load. graph-sim (50 ms latency on every Graph answer) and a real Kafka
// broker behind the GCP notification function on a real functions-framework server. An open-loop load
// generator POSTs valid notifications (for real events of a real subscription) at a fixed rate, in POSTs of 1
// and of 20 notifications, and reports throughput, ack latency and Graph requests per enriched notification.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { FileSubscriptionStore } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { provideBroker, type ProvidedBroker } from '@graph2kafka/kafka-local';
import { createSubscription, freePort, TopicReader } from '@graph2kafka/testkit';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    users: { type: 'string', default: '50' },
    'latency-ms': { type: 'string', default: '50' },
  },
});
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const root = path.resolve(import.meta.dirname, '..');
const log = (line: string): void => console.log(`[bench] ${line}`);

interface PhaseResult {
  postSize: number;
  sent: number;
  acked: number;
  failed: number;
  notificationsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  graphRequests: number;
  enriched: number;
  notEnriched: number;
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  let kafka: ProvidedBroker | undefined;
  let sim: GraphSim | undefined;
  try {
    kafka = await provideBroker(log);
    sim = await GraphSim.start({
      extraUsersPerTenant: Number(args.users),
      faults: { latencyMs: Number(args['latency-ms']) },
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'g2k-bench-'));
    const caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, sim.caCertPem);
    const stateDir = path.join(dir, 'state');
    const topic = `bench.events.${Date.now()}`;
    const port = await freePort();
    const require = createRequire(path.join(root, 'packages', 'gcp-fn', 'package.json'));
    const main = path.join(path.dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
    const fn = spawn(
      process.execPath,
      [main, '--target=graphNotifications', `--source=${path.join(root, 'packages', 'gcp-fn')}`, `--port=${port}`],
      {
        env: {
          ...process.env,
          NODE_OPTIONS: '--conditions=@graph2kafka/source',
          GRAPH_BASE_URL: sim.urls.graph,
          AZURE_AUTHORITY_HOST: sim.urls.authority,
          AZURE_TENANT_ID: sim.defaults.tenantId,
          AZURE_CLIENT_ID: sim.defaults.clientId,
          AZURE_CLIENT_SECRET: sim.defaults.clientSecret,
          G2K_GRAPH_CA_FILE: caFile,
          KAFKA_BROKERS: kafka.brokers.join(','),
          G2K_TOPIC: topic,
          G2K_STATE_STORE: `file:${stateDir}`,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    children.push(fn);
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/?validationToken=ready`, { method: 'POST' })).status === 200) break;
      } catch {
        if (i > 300) throw new Error('the function did not start within 30 s');
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    // One subscription per mailbox (as the subscription manager will create them), 40 events per mailbox.
    const store = new FileSubscriptionStore(stateDir);
    const users = sim.directory.listUsers(sim.defaults.tenantId);
    const targets: Array<{ subscriptionId: string; clientState: string; userId: string; eventId: string }> = [];
    for (const user of users) {
      const sub = await createSubscription(sim, store, { userId: user.id, notificationUrl: `${url}/` });
      for (let i = 0; i < 40; i++) {
        const e = sim.createEvent(user.id, { subject: `bench ${i}` });
        targets.push({ subscriptionId: sub.id, clientState: sub.clientState, userId: user.id, eventId: e.immutableId });
      }
    }
    await sim.settled(60_000); // the creates' own notifications, so they do not mix into the measurement
    log(
      `${users.length} mailboxes, ${targets.length} events, Graph latency ${args['latency-ms']} ms, target ${rate} notifications/s for ${seconds} s per phase`,
    );

    const reader = await TopicReader.start(kafka.brokers, topic);
    const pool = new Pool(url, { connections: 256, pipelining: 1 });
    const results: PhaseResult[] = [];
    let cursor = 0;
    for (const postSize of [1, 20]) {
      // Warm-up: token, connections, JIT.
      await runPhase(pool, postSize, Math.min(rate, 200), 1);
      const requestsBefore = sim.records.requests
        .all()
        .filter((r) => r.path === '/v1.0/$batch' || (r.path.startsWith('/v1.0/') && !r.batchId)).length;
      const recordsBefore = reader.records.length;
      const phase = await runPhase(pool, postSize, rate, seconds);
      await new Promise((r) => setTimeout(r, 1_000));
      const requestsAfter = sim.records.requests
        .all()
        .filter((r) => r.path === '/v1.0/$batch' || (r.path.startsWith('/v1.0/') && !r.batchId)).length;
      const produced = reader.records.slice(recordsBefore).filter((r) => r.headers['g2k-bench'] === undefined);
      const enriched = produced.filter((r) => r.headers['g2k-enriched'] === 'true').length;
      results.push({
        ...phase,
        graphRequests: requestsAfter - requestsBefore,
        enriched,
        notEnriched: produced.length - enriched,
      });
    }
    await pool.close();
    await reader.stop();

    console.log('');
    console.log(
      '| POST size | target n/s | achieved n/s | acked | failed | p50 ms | p95 ms | p99 ms | max ms | Graph requests | enriched | not enriched | requests per enriched |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      console.log(
        `| ${r.postSize} | ${rate} | ${r.notificationsPerSecond.toFixed(0)} | ${r.acked} | ${r.failed} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.graphRequests} | ${r.enriched} | ${r.notEnriched} | ${(r.graphRequests / Math.max(1, r.enriched)).toFixed(3)} |`,
      );
    }
    console.log('');
    log('targets: p99 ack < 300 ms at 1,000 notifications/s; <= 0.06 Graph requests per enriched notification');

    async function runPhase(
      p: Pool,
      postSize: number,
      notificationsPerSecond: number,
      durationS: number,
    ): Promise<Omit<PhaseResult, 'graphRequests' | 'enriched' | 'notEnriched'>> {
      const postsPerSecond = notificationsPerSecond / postSize;
      const total = Math.round(postsPerSecond * durationS);
      const latencies: number[] = [];
      let failed = 0;
      const started = performance.now();
      const inFlight: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        // Open loop: each POST leaves at its scheduled time, however slow the answers are.
        const due = started + (i * 1000) / postsPerSecond;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const value = Array.from({ length: postSize }, () => {
          const t = targets[cursor++ % targets.length]!;
          return {
            id: `bench-${cursor}`,
            subscriptionId: t.subscriptionId,
            subscriptionExpirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
            changeType: 'updated',
            resource: `Users/${t.userId}/Events/${t.eventId}`,
            resourceData: {
              '@odata.type': '#Microsoft.Graph.Event',
              '@odata.id': `Users/${t.userId}/Events/${t.eventId}`,
              id: t.eventId,
            },
            clientState: t.clientState,
            tenantId: sim!.defaults.tenantId,
          };
        });
        const sent = performance.now();
        inFlight.push(
          p
            .request({
              path: '/',
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ value }),
            })
            .then(async (res) => {
              await res.body.dump();
              if (res.statusCode === 202) latencies.push(performance.now() - sent);
              else failed += postSize;
            })
            .catch(() => {
              failed += postSize;
            }),
        );
      }
      await Promise.all(inFlight);
      const elapsed = (performance.now() - started) / 1000;
      const sorted = latencies.sort((a, b) => a - b);
      return {
        postSize,
        sent: total * postSize,
        acked: latencies.length * postSize,
        failed,
        notificationsPerSecond: (latencies.length * postSize) / elapsed,
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
        max: sorted.at(-1) ?? NaN,
      };
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await sim?.stop();
    await kafka?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`[bench] ${(err as Error).message}`);
  process.exit(1);
});
