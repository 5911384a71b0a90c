// `pnpm bench:memory`: what hostile bodies cost one GCP instance as deployed. The notification function runs
// from source on functions-framework in its own process with infra/gcp/deploy.sh's NODE_OPTIONS (its heap);
// genuine POSTs of one notification each (read from graph-sim, produced to real Kafka) go to it alone, then
// again while `--hostile` connections (default: Cloud Run's 80 per instance) send 1 MiB `{"value":[[],…]}`
// bodies back to back. Prints the genuine POSTs' answers and p50/p99, the hostile answers, and the instance's
// peak RSS in each phase. Figures only: nothing is asserted.
//
//   pnpm bench:memory                                   200 genuine POSTs per phase, 8 at a time, 80 hostile
//   pnpm bench:memory --posts 500 --concurrency 16 --hostile 80 --function-node-options '--max-old-space-size=512'
import { readFileSync, writeFileSync } from 'node:fs';
import { Collection, FileDocumentStore, subscriptionCollection } from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import { provideBroker } from '@graph2kafka/kafka-local';
import {
  awaitHandshake,
  createSubscription,
  deployedGcpNodeOptions,
  emptyArraysBody,
  eventChangeBody,
  freePort,
  pipelineEnv,
  postRaw,
  startGcpFunction,
  stopChild,
  TopicReader,
} from '@graph2kafka/testkit';
import { parseCommandLine } from '../args.ts';

const USAGE = `pnpm bench:memory [options]: what hostile bodies cost one GCP instance as deployed
  --posts N                     genuine POSTs per phase (default 200)
  --concurrency N               genuine POSTs at once (default 8)
  --hostile N                   hostile connections sending bodies back to back (default 80, Cloud Run's concurrency)
  --hostile-bytes N             size of each hostile body (default 1048576)
  --function-node-options '…'   NODE_OPTIONS of the function (default infra/gcp/deploy.sh's)`;
const { values: args } = parseCommandLine(USAGE, {
  options: {
    posts: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    hostile: { type: 'string', default: '80' },
    'hostile-bytes': { type: 'string', default: '1048576' },
    'function-node-options': { type: 'string', default: deployedGcpNodeOptions() },
  },
});
const posts = Number(args.posts);
const concurrency = Number(args.concurrency);
const hostileConnections = Number(args.hostile);
const log = (line: string): void => console.log(`[bench:memory] ${line}`);

const peakRssMb = (pid: number): number =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
/** Starts the process's peak RSS afresh from its current RSS (Linux: 5 → /proc/PID/clear_refs). */
const resetPeakRss = (pid: number): void => writeFileSync(`/proc/${pid}/clear_refs`, '5');
const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const tally = (answers: Array<number | 'closed'>): string =>
  [...new Set(answers)]
    .sort()
    .map((a) => `${a}: ${answers.filter((x) => x === a).length}`)
    .join(', ');

const kafka = await provideBroker(log);
const sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
const user = sim.defaults.users[0]!.id;
const setup = pipelineEnv(sim, { KAFKA_BROKERS: kafka.brokers.join(',') });
const port = await freePort();
const url = `http://127.0.0.1:${port}/`;
const fn = startGcpFunction(port, setup.env, args['function-node-options']);
let reader: TopicReader | undefined;
try {
  await awaitHandshake(url, 30_000);
  const sub = await createSubscription(
    sim,
    new Collection(new FileDocumentStore(setup.stateDir), subscriptionCollection),
    {
      userId: user,
      notificationUrl: url,
    },
  );
  reader = await TopicReader.start(kafka.brokers, setup.topic);
  const events = Array.from({ length: posts }, (_, i) => sim.createEvent(user, { subject: `bench ${i}` }));
  const bodyOf = (immutableId: string): Buffer => eventChangeBody(sub, immutableId);
  const hostileBody = emptyArraysBody(Number(args['hostile-bytes']));
  let produced = 0;

  const phase = async (name: string, hostile: number): Promise<void> => {
    resetPeakRss(fn.child.pid!);
    const genuine: Array<{ status: number | 'closed'; ms: number }> = [];
    const hostileAnswers: Array<number | 'closed'> = [];
    let done = false;
    let next = 0;
    const flood = Promise.all(
      Array.from({ length: hostile }, async () => {
        while (!done) hostileAnswers.push(await postRaw(url, hostileBody));
      }),
    );
    const began = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < events.length) {
          const e = events[next++]!;
          const t = performance.now();
          genuine.push({ status: await postRaw(url, bodyOf(e.immutableId)), ms: performance.now() - t });
        }
      }),
    );
    const seconds = (performance.now() - began) / 1000;
    done = true;
    await flood;
    next = 0;
    const ms = genuine.map((g) => g.ms).sort((a, b) => a - b);
    produced += genuine.filter((g) => g.status === 202).length;
    const alive = fn.child.exitCode === null && fn.child.signalCode === null;
    log(
      `${name}: genuine ${genuine.length} POSTs in ${seconds.toFixed(1)} s (${tally(genuine.map((g) => g.status))}), ` +
        `p50 ${percentile(ms, 50).toFixed(0)} ms, p99 ${percentile(ms, 99).toFixed(0)} ms; ` +
        (hostile ? `hostile ${hostileAnswers.length} POSTs (${tally(hostileAnswers)}); ` : '') +
        (alive
          ? `peak RSS ${peakRssMb(fn.child.pid!).toFixed(0)} MB`
          : `the instance died (${fn.child.signalCode ?? fn.child.exitCode})`),
    );
  };

  log(`function NODE_OPTIONS: ${args['function-node-options']}`);
  await phase('alone', 0);
  await phase(`beside ${hostileConnections} hostile connections (${hostileBody.length} B bodies)`, hostileConnections);
  await reader.waitFor(produced, 60_000).catch(() => undefined);
  await reader.readToEnd();
  log(`${new Set(reader.records.map((r) => r.key)).size} of ${posts} events in Kafka (each POSTed once per phase)`);
} finally {
  await reader?.stop();
  await stopChild(fn.child);
  await sim.stop();
  await kafka.stop();
}
