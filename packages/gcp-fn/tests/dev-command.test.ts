import { spawn } from 'node:child_process';
import path from 'node:path';
import { deliveryWindowMs, resolveOptions } from '@graph2kafka/graph-sim';
import { brokersFromEnv } from '@graph2kafka/kafka-local';
import { freePort } from '@graph2kafka/testkit';
import {
  DEV_CHANGE_ROUNDS,
  DEV_REDELIVERIES,
  FUNCTION_START_MS,
  RECORDS_MS,
  STATUS_MS,
} from '../../../scripts/dev-budgets.ts';

/**
 * The longest `pnpm dev` may take before it fails on its own: its functions' start, each change round through
 * the retries it waits for on graph-sim's default schedule, its records and its status; plus a minute for
 * the rest (node and the sources loading, the subscription, the shutdown) on a busy machine.
 */
const DEV_BUDGET_MS =
  FUNCTION_START_MS +
  DEV_CHANGE_ROUNDS * deliveryWindowMs(resolveOptions().delivery, 1, DEV_REDELIVERIES) +
  RECORDS_MS +
  STATUS_MS +
  60_000;

describe('pnpm dev (the README’s run command)', () => {
  it(
    'runs the pipeline on functions-framework, graph-sim and Kafka, prints the records that arrive, and stops with 0 on Ctrl-C',
    async () => {
      const root = path.resolve(__dirname, '..', '..', '..');
      const env = {
        ...process.env,
        KAFKA_BROKERS: brokersFromEnv().join(','),
        G2K_TOPIC: `test.dev.${Date.now()}`,
        G2K_DEV_SIM_PORT: String(await freePort()),
        G2K_DEV_FUNCTION_PORT: String(await freePort()),
        G2K_DEV_LIFECYCLE_PORT: String(await freePort()),
      };
      const child = spawn(
        process.execPath,
        ['--conditions=@graph2kafka/source', path.join(root, 'scripts', 'dev.ts')],
        { cwd: root, env },
      );
      let out = '';
      let interrupted = false;
      const collect = (c: Buffer) => {
        out += c.toString();
        // Once the demo is done, what a user does to end it.
        if (!interrupted && out.includes('Ctrl-C stops everything.')) interrupted = child.kill('SIGINT');
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(out).toMatch(/\[dev\] graph-sim\s+Graph https:\/\/127\.0\.0\.1:\d+\/v1\.0/);
      expect(out).toMatch(/\[dev\] GCP functions\s+notifications http:\/\/127\.0\.0\.1:\d+\//);
      expect(out.match(/\[dev\] kafka {12}(created|updated|deleted|tombstone)/g)).toHaveLength(5);
      expect(out).toMatch(/updated {2}key=\S+ {2}enriched, subject "Quarterly review \(moved to Friday\)"/);
      expect(out).toMatch(/\[dev\] ops CLI {10}\(set -a; \. \.cache\/dev\/env; pnpm graph2kafka status\)/);
      expect(out).toMatch(/\[dev\] Ctrl-C: stopping the functions, graph-sim and Kafka/);
      expect(code).toBe(0);
    },
    DEV_BUDGET_MS,
  );
});
