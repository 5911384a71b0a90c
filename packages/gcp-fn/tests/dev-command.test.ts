import { spawn } from 'node:child_process';
import path from 'node:path';
import { brokersFromEnv } from '@graph2kafka/kafka-local';
import { freePort } from '@graph2kafka/testkit';

describe('pnpm dev (the README’s run command)', () => {
  it('runs the pipeline on functions-framework, graph-sim and Kafka, and prints the records that arrive', async () => {
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
      ['--conditions=@graph2kafka/source', path.join(root, 'scripts', 'dev.ts'), '--once'],
      { cwd: root, env },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toMatch(/\[dev\] graph-sim\s+Graph https:\/\/127\.0\.0\.1:\d+\/v1\.0/);
    expect(out).toMatch(/\[dev\] GCP functions\s+notifications http:\/\/127\.0\.0\.1:\d+\//);
    expect(out.match(/\[dev\] kafka {12}(created|updated|deleted|tombstone)/g)).toHaveLength(5);
    expect(out).toMatch(/updated {2}key=\S+ {2}enriched, subject "Quarterly review \(moved to Friday\)"/);
    expect(code).toBe(0);
  }, 90_000);
});
