// Bad set-up must end in one clear line and a non-zero exit, never a hang: each case below is a way the
// local broker cannot be had, and what the user is told about it.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureJars, optionsFromEnv, requireJava, requirePortFree, startBroker } from '../src/index.ts';
import type { KafkaLocalOptions } from '../src/index.ts';

jest.setTimeout(120_000);

const cli = path.resolve(__dirname, '../src/cli.ts');
let scratch: string;

beforeEach(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'kafka-local-test-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Options on free ports and a run folder of this test's own, sharing the project's cached jars. */
async function isolatedOptions(overrides: Partial<KafkaLocalOptions> = {}): Promise<KafkaLocalOptions> {
  return optionsFromEnv(process.env, {
    runDir: path.join(scratch, 'run'),
    plaintextPort: await freePort(),
    saslPort: await freePort(),
    controllerPort: await freePort(),
    ...overrides,
  });
}

function runCli(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [cli, 'start'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function processesRunning(propertiesPath: string): string {
  try {
    return execFileSync('pgrep', ['-f', propertiesPath], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

describe('no Java', () => {
  it('the CLI prints one line saying Java 17+ is needed and exits 1', () => {
    const result = runCli({
      G2K_KAFKA_JAVA: path.join(scratch, 'no-such-java'),
      G2K_KAFKA_RUN_DIR: path.join(scratch, 'run'),
    });

    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^kafka-local: Java 17\+ is needed to run the local Kafka broker, but `.*no-such-java -version` failed .*set JAVA_HOME/,
    );
  });

  it('a Java older than 17 is refused with its version named', () => {
    const oldJava = path.join(scratch, 'java');
    writeFileSync(oldJava, '#!/bin/sh\necho \'java version "1.8.0_392"\' >&2\n');
    chmodSync(oldJava, 0o755);

    expect(() => requireJava(oldJava)).toThrow(/Java 17\+ is needed .* is 8\. Install a JDK 17\+/);
  });
});

describe('fetching the broker jars', () => {
  it('without Maven, says Maven is needed once and how to get it', async () => {
    const options = await isolatedOptions({ home: scratch, mavenCommand: path.join(scratch, 'no-such-mvn') });

    expect(() => ensureJars(options)).toThrow(
      /Maven is needed once, to fetch the Kafka broker's jars from Maven Central, but `.*no-such-mvn --version` failed/,
    );
  });

  it('with Maven Central unreachable, says so and leaves no half-fetched jars', async () => {
    const closedPort = await freePort();
    const settings = path.join(scratch, 'settings.xml');
    writeFileSync(
      settings,
      `<settings><mirrors><mirror><id>nowhere</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:${closedPort}/maven2</url></mirror></mirrors></settings>`,
    );
    const options = await isolatedOptions({
      home: scratch,
      mavenSettings: settings,
      mavenLocalRepo: path.join(scratch, 'm2'),
    });

    const version = options.kafkaVersion.replaceAll('.', '\\.');
    expect(() => ensureJars(options)).toThrow(
      new RegExp(
        `could not download org\\.apache\\.kafka:kafka_2\\.13:${version} from Maven Central: it is unreachable from here .*G2K_KAFKA_MAVEN_SETTINGS`,
      ),
    );
    expect(existsSync(path.join(scratch, 'dist', options.kafkaVersion, 'libs'))).toBe(false);
  });
});

describe('ports', () => {
  it('a taken port is named with the setting that moves it, before anything starts', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      await expect(requirePortFree('127.0.0.1', port, 'G2K_KAFKA_SASL_PORT')).rejects.toThrow(
        `port ${port} on 127.0.0.1 is already in use, so the local Kafka broker cannot listen there.`,
      );
      const options = await isolatedOptions({ saslPort: port });
      await expect(startBroker(options)).rejects.toMatchObject({
        code: 'PORT_IN_USE',
        message: expect.stringContaining('set G2K_KAFKA_SASL_PORT to a free port'),
      });
      expect(existsSync(path.join(options.runDir, 'broker.json'))).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe('a broker that does not come up', () => {
  it('is stopped when not ready within the bound, and the error says how to allow more time', async () => {
    const options = await isolatedOptions({ readyTimeoutMs: 1 });

    await expect(startBroker(options)).rejects.toMatchObject({
      code: 'BROKER_NOT_READY',
      message: expect.stringMatching(
        /did not answer a metadata request within 1 ms and was stopped\. .*G2K_KAFKA_READY_TIMEOUT_MS/,
      ),
    });
    expect(processesRunning(path.join(options.runDir, 'server.properties'))).toBe('');
    expect(existsSync(path.join(options.runDir, 'broker.json'))).toBe(false);
  });

  it('that exits during start-up is reported with the end of its log', async () => {
    const options = await isolatedOptions({ heap: '1k' });

    const failure = await startBroker(options).then(
      () => undefined,
      (err: unknown) => err as { code?: string; message?: string },
    );
    // Separate assertions, so a failure shows the whole message the user would have seen.
    expect(failure?.code).toBe('BROKER_EXITED');
    expect(failure?.message).toMatch(/exited during start-up\. Last lines of .*broker\.log:\n.*(heap|Error)/is);
  });
});
