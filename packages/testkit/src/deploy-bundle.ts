import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The workspace root, found from the working directory (this module loads both as ESM and under jest). */
export function workspaceRoot(): string {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no pnpm workspace above ${process.cwd()}`);
  }
}

export interface InstalledBundle {
  dir: string;
  /** Bytes of JavaScript in dist/ (source maps left out). */
  codeBytes: number;
  /** Bytes of everything the platform would upload and install: dist/ plus node_modules. */
  installedBytes: number;
  buildMs: number;
  installMs: number;
  /** Deletes the bundle's folder (a production install, about 100 MB) once its functions stopped. */
  remove(): void;
}

function bytesUnder(dir: string, filter: (name: string) => boolean = () => true): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile() && filter(entry.name)) total += statSync(path.join(entry.parentPath, entry.name)).size;
  return total;
}

/**
 * What the cloud does with a deploy bundle: `pnpm build <platform> --out DIR` into a fresh folder outside the
 * workspace, then a clean production install from its own package-lock.json (`npm ci --omit=dev`).
 */
export async function buildAndInstallBundle(platform: 'gcp' | 'azure'): Promise<InstalledBundle> {
  const root = workspaceRoot();
  const scratch = mkdtempSync(path.join(tmpdir(), `g2k-bundle-${platform}-`));
  const dir = path.join(scratch, 'app');
  let began = Date.now();
  await run(process.execPath, [path.join(root, 'scripts', 'build', 'run.ts'), platform, '--out', dir], { cwd: root });
  const buildMs = Date.now() - began;
  began = Date.now();
  await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
  return {
    dir,
    codeBytes: bytesUnder(path.join(dir, 'dist'), (n) => n.endsWith('.js')),
    installedBytes: bytesUnder(dir, (n) => !n.endsWith('.map')),
    buildMs,
    installMs: Date.now() - began,
    remove: () => rmSync(scratch, { recursive: true, force: true }),
  };
}

/**
 * The stack of the error a bundle's code throws for a configuration with nothing set (its exported `appFromEnv`),
 * loaded from the bundle's folder as the platform loads it: through dist/index.js, with plain `node`.
 */
export async function configErrorStack(bundle: InstalledBundle): Promise<string> {
  const script = [
    "const { appFromEnv } = await import('./dist/index.js');",
    'const error = await appFromEnv({}).then(() => undefined, (e) => e);',
    "console.log(error?.stack ?? 'no error');",
    'process.exit(0);',
  ].join('\n');
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: bundle.dir,
    env,
    timeout: HANDSHAKE_WAIT_MS,
  });
  return stdout;
}

/**
 * What a bundle's source maps come to once deployed: whether the platform's ignore file (`.gcloudignore`,
 * `.funcignore`) would leave them behind, how many chunk maps ship, and a config error's stack from the bundle.
 */
export async function shippedSourceMaps(
  bundle: InstalledBundle,
  ignoreFile: string,
): Promise<{ ignored: boolean; maps: number; stack: string }> {
  const ignores = await readFile(path.join(bundle.dir, ignoreFile), 'utf8');
  const chunks = await readdir(path.join(bundle.dir, 'dist', 'chunks'));
  return {
    ignored: /\.map/.test(ignores),
    maps: chunks.filter((f) => f.endsWith('.js.map')).length,
    stack: await configErrorStack(bundle),
  };
}

/** How long `awaitHandshake` waits by default for a function to start answering. */
export const HANDSHAKE_WAIT_MS = 15_000;

/** Polls a Graph validation handshake until it is answered; returns the token's echo. */
export async function awaitHandshake(url: string, timeoutMs = HANDSHAKE_WAIT_MS): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const token = 'Validation: Token check + 1';
  for (;;) {
    try {
      const res = await fetch(`${url}?validationToken=${encodeURIComponent(token)}`, { method: 'POST' });
      const body = await res.text();
      if (res.status === 200 && body === token) return body;
      throw new Error(`handshake answered ${res.status} ${body.slice(0, 200)}`);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** One line for the test log: what the bundle weighs and how fast it came up. */
export function describeBundle(name: string, bundle: InstalledBundle, coldStartMs: number): string {
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
  return (
    `${name} bundle: ${kib(bundle.codeBytes)} of JavaScript, ${kib(bundle.installedBytes)} installed; ` +
    `build ${bundle.buildMs} ms, npm ci ${bundle.installMs} ms; cold start to first handshake ${coldStartMs} ms`
  );
}

/** SIGTERM to a process the test started, resolving once it has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
