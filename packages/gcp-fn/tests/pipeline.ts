import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createAppFromEnv, silentLogger, type AppOverrides } from '@graph2kafka/core';
import type { GraphSim } from '@graph2kafka/graph-sim';
import { freePort, pipelineEnv, TopicReader, type PipelineEnv } from '@graph2kafka/testkit';
import { httpHandler } from '../src/handlers.ts';
import { installWireGuard } from '../src/wire-guard.ts';

// As the deployed module does before functions-framework creates its server.
installWireGuard();

let fnSeq = 0;

/**
 * The GCP functions on a real functions-framework HTTP server, wired to graph-sim and a real topic. With
 * `subscribe`, the functions listen on ports chosen first, and the subscription manager is on with their URLs.
 */
export async function startPipeline(
  sim: GraphSim,
  extraEnv: Record<string, string> = {},
  overrides: AppOverrides = {},
  options: { subscribe?: boolean; ports?: [number, number] } = {},
) {
  const ports = options.ports ?? (options.subscribe ? [await freePort(), await freePort()] : [0, 0]);
  const setup: PipelineEnv = pipelineEnv(sim, {
    ...(options.subscribe
      ? {
          G2K_NOTIFICATION_URL: `http://127.0.0.1:${ports[0]}/`,
          G2K_LIFECYCLE_URL: `http://127.0.0.1:${ports[1]}/`,
        }
      : {}),
    ...extraEnv,
  });
  const app = await createAppFromEnv(setup.env, [], { logger: silentLogger, ...overrides });
  const name = `g2k${process.pid}x${fnSeq++}`;
  http(
    `${name}Notifications`,
    httpHandler(() => Promise.resolve(app)),
  );
  http(
    `${name}Lifecycle`,
    httpHandler(() => Promise.resolve(app)),
  );
  const listen = async (fn: string, port: number): Promise<{ server: Server; url: string }> => {
    const server = getTestServer(fn);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
  };
  const notifications = await listen(`${name}Notifications`, ports[0]);
  const lifecycle = await listen(`${name}Lifecycle`, ports[1]);
  // The topic the functions write to (a test may name an earlier pipeline's, to continue on it).
  const topic = setup.env.G2K_TOPIC ?? setup.topic;
  const reader = await TopicReader.start(setup.env.KAFKA_BROKERS!.split(','), topic);
  return {
    ...setup,
    topic,
    app,
    reader,
    url: notifications.url,
    lifecycleUrl: lifecycle.url,
    ports: [ports[0], ports[1]] as [number, number],
    async stop() {
      await reader.stop();
      for (const s of [notifications.server, lifecycle.server]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
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
