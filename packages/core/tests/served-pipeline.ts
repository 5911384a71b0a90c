import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppFromEnv, silentLogger, type AppOverrides } from '@graph2kafka/core';
import { serveApp } from '@graph2kafka/core/http';
import type { GraphSim } from '@graph2kafka/graph-sim';
import { freePort, pipelineEnv, TopicReader, type PipelineEnv } from '@graph2kafka/testkit';
/**
 * The app served on loopback HTTP (core's `serveApp`: `/notifications` and `/lifecycle`), wired to graph-sim and
 * a real topic: what core's feature tests run on. The adapters' own tests run the same app behind their
 * platform's server. With `subscribe`, the app listens on a port chosen first, and the subscription manager is
 * on with its URLs.
 */
export async function startPipeline(
  sim: GraphSim,
  extraEnv: Record<string, string> = {},
  overrides: AppOverrides = {},
  options: { subscribe?: boolean; port?: number } = {},
) {
  const port = options.port ?? (options.subscribe ? await freePort() : 0);
  const base = `http://127.0.0.1:${port}`;
  const setup: PipelineEnv = pipelineEnv(sim, {
    ...(options.subscribe
      ? { G2K_NOTIFICATION_URL: `${base}/notifications`, G2K_LIFECYCLE_URL: `${base}/lifecycle` }
      : {}),
    ...extraEnv,
  });
  const app = await createAppFromEnv(setup.env, [], { logger: silentLogger, ...overrides });
  const served = await serveApp(app, port);
  // The topic the app writes to (a test may name an earlier pipeline's, to continue on it).
  const topic = setup.env.G2K_TOPIC ?? setup.topic;
  const reader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), topic);
  return {
    ...setup,
    topic,
    app,
    reader,
    url: served.notificationUrl,
    lifecycleUrl: served.lifecycleUrl,
    port: Number(new URL(served.notificationUrl).port),
    async stop() {
      await reader.stop();
      await served.close();
      await app.close();
    },
  };
}

export type Pipeline = Awaited<ReturnType<typeof startPipeline>>;

export const post = (
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
) => fetch(url, { method: 'POST', headers, body });

/**
 * A pipeline whose desired state subscribes one mailbox's events with occurrence expansion `futureDays` ahead,
 * on graph-sim's clock, with that subscription created: what the series tests start from.
 */
export async function startExpansionPipeline(sim: GraphSim, userId: string, futureDays: number) {
  const file = join(tmpdir(), `g2k-expansion-${process.pid}-${Date.now()}.json`);
  writeFileSync(
    file,
    JSON.stringify({ subscriptions: [{ kind: 'events', users: [userId], expandOccurrences: { futureDays } }] }),
  );
  const pipe = await startPipeline(
    sim,
    { G2K_SUBSCRIPTIONS_FILE: file },
    { graphNow: () => sim.clock.now() },
    { subscribe: true },
  );
  const report = await pipe.app.manager!.reconcile();
  if (report.errors.length || report.created.length !== 1)
    throw new Error(`the expansion pipeline's subscription was not created: ${JSON.stringify(report)}`);
  return pipe;
}
