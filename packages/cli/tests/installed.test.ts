import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createAppFromEnv, runRenewal, silentLogger } from '@graph2kafka/core';
import { serveApp } from '@graph2kafka/core/http';
import { deliveryWindowMs, GraphSim, resolveOptions } from '@graph2kafka/graph-sim';
import { freePort, pipelineEnv, workspaceRoot } from '@graph2kafka/testkit';
import { CLI_RUN_MS, graph2kafka, runCommand } from './run-cli.ts';

const run = promisify(execFile);
/** `pnpm build cli --out DIR`: esbuild (about a second) and `npm pack` of a 1.3 MiB tarball. */
const BUILD_MS = 60_000;
/** `npm install` of the tarball and its 92 runtime packages from npm's cache (3 s here), the registry if not. */
const INSTALL_MS = 120_000;
const SIM_OPTIONS = { delivery: { batchWindowMs: 20 } };
/** One change, answered at graph-sim's first attempt (Graph's 3 s). */
const FIRST_ATTEMPT_MS = deliveryWindowMs(resolveOptions(SIM_OPTIONS).delivery, 1, 0);
/** The timer run's subscription: graph-sim's handshake with the served app (10 s at most, as Graph's). */
const SUBSCRIBE_MS = resolveOptions().subscriptions.handshakeTimeoutMs;
/** graph-sim, the app and its Kafka producer up, and everything stopped again. */
const SERVE_MS = 30_000;
/** An operator's machine: nothing from the test runner's Node or the workspace, and Node 22 first on PATH. */
const { NODE_OPTIONS: _ignored, ...plainEnv } = process.env;
const operatorEnv = { ...plainEnv, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}` };

interface Packed {
  filename: string;
  files: Array<{ path: string }>;
}

describe('graph2kafka installed from its packed tarball into an empty folder, run with plain node', () => {
  const root = workspaceRoot();
  const scratch = mkdtempSync(path.join(tmpdir(), 'g2k-cli-package-'));
  const built = path.join(scratch, 'package');
  const installed = path.join(scratch, 'ops-host');
  let tarball: string;
  let bin: string;
  const installedCli = (args: string[], env: Record<string, string> = {}) =>
    runCommand(process.execPath, [bin, ...args], { ...operatorEnv, ...env });

  beforeAll(async () => {
    let began = Date.now();
    await run(process.execPath, [path.join(root, 'scripts', 'build', 'run.ts'), 'cli', '--out', built], {
      cwd: root,
      timeout: BUILD_MS,
    });
    const buildMs = Date.now() - began;
    const [name] = readdirSync(built).filter((f) => f.endsWith('.tgz'));
    tarball = path.join(built, name!);
    mkdirSync(installed);
    began = Date.now();
    // As an operator would: npm from PATH, the tarball into an empty folder (no workspace, no pnpm); what npm
    // has cached first, so that a registry caught mid-publish cannot fail it (as the bundles' lockfile step).
    await run(
      'npm',
      ['install', '--prefer-offline', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error', tarball],
      { cwd: installed, env: plainEnv, timeout: INSTALL_MS },
    );
    bin = path.join(installed, 'node_modules', '.bin', 'graph2kafka');
    console.log(
      `CLI package: ${(readFileSync(tarball).length / 1024).toFixed(0)} KiB tarball; build and pack ${buildMs} ms, npm install ${Date.now() - began} ms`,
    );
  }, BUILD_MS + INSTALL_MS);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is an npm package: a bin, Node 22 or newer, its files, a licence, only what cannot be bundled', async () => {
    const manifest = JSON.parse(
      readFileSync(path.join(installed, 'node_modules', 'graph2kafka', 'package.json'), 'utf8'),
    );
    const rootManifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({
      name: 'graph2kafka',
      version: rootManifest.version,
      license: 'MIT',
      type: 'module',
      bin: { graph2kafka: 'dist/cli.js' },
      engines: { node: '>=22 <25' },
      files: ['dist'],
    });
    expect(manifest.private).toBeUndefined();
    expect(manifest.devDependencies).toBeUndefined();
    expect(Object.keys(manifest.dependencies).sort()).toEqual([
      '@google-cloud/secret-manager',
      '@platformatic/kafka',
      'google-auth-library',
    ]);
    const [packed] = JSON.parse(
      (await run('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], { cwd: built, env: plainEnv })).stdout,
    ) as Packed[];
    const files = packed!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/cli.js']));
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
  });

  it(
    'answers --version and status --help from the bin on PATH, exit 0',
    async () => {
      const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version as string;
      // The bin itself, as a shell runs it: its #! line finds Node 22 on PATH.
      expect(await runCommand(bin, ['--version'], operatorEnv)).toEqual({
        code: 0,
        stdout: `${version}\n`,
        stderr: '',
      });
      const help = await installedCli(['status', '--help']);
      expect(help).toMatchObject({ code: 0, stderr: '' });
      expect(help.stdout).toMatch(/^Usage: graph2kafka status \[--json\]/);
      expect(help.stdout).toMatch(/Examples:/);
      expect(await installedCli(['status', '--nope'])).toMatchObject({
        code: 2,
        stderr: expect.stringContaining("Unknown option '--nope'"),
      });
    },
    3 * CLI_RUN_MS,
  );

  it(
    'names the TypeScript line an unexpected error came from (source maps, enabled at the entry)',
    async () => {
      const out = path.join(scratch, 'no-such-folder', 'rich.b64');
      const failed = await installedCli(['cert', 'create', '--id', 'g2k-1', '--certificate-out', out]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/^graph2kafka: Error: ENOENT/);
      expect(failed.stderr).toMatch(
        /\n {4}at createCertificate \(graph2kafka:\/\/\/packages\/cli\/src\/cli\.ts:\d+:\d+\)/,
      );
    },
    CLI_RUN_MS,
  );

  it(
    'reports the status of a served app as the workspace CLI does',
    async () => {
      const sim = await GraphSim.start(SIM_OPTIONS);
      const port = await freePort();
      const setup = pipelineEnv(sim, {
        G2K_NOTIFICATION_URL: `http://127.0.0.1:${port}/notifications`,
        G2K_LIFECYCLE_URL: `http://127.0.0.1:${port}/lifecycle`,
        G2K_SUBSCRIBE_USERS: sim.defaults.users[0]!.id,
      });
      const app = await createAppFromEnv(setup.env, [], { logger: silentLogger });
      const served = await serveApp(app, port);
      try {
        expect((await runRenewal(app)).errors).toEqual([]);
        sim.createEvent(sim.defaults.users[0]!.id, { subject: 'status from the installed CLI' });
        await sim.settled(FIRST_ATTEMPT_MS);
        await app.health.flush();

        const [fromPackage, fromSources] = await Promise.all([
          installedCli(['status'], setup.env),
          graph2kafka(['status'], setup.env),
        ]);
        expect(fromPackage).toMatchObject({ code: 0, stderr: '' });
        expect(fromPackage.stdout).toMatch(/: healthy\n/);
        expect(fromPackage.stdout).toMatch(/1 POST\(s\) \(202: 1\)/);
        // The same report; only the moment it was made and the hours to the next expiry may move between them.
        const steady = (s: string): string =>
          s.replace(/status at \S+:/, 'status at T:').replace(/\(in [\d.]+ h\)/, '(in H h)');
        expect(steady(fromPackage.stdout)).toBe(steady(fromSources.stdout));
      } finally {
        await served.close();
        await app.close();
        await sim.stop();
        setup.remove();
      }
    },
    // The two CLIs run side by side.
    SERVE_MS + SUBSCRIBE_MS + FIRST_ATTEMPT_MS + CLI_RUN_MS,
  );
});
