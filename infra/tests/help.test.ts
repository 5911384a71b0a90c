import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

/**
 * The options each command's --help must name, by package.json script (or script file). A script that is
 * added to package.json fails this test until it is listed here or among the other tools' commands below.
 */
const OPTIONS: Record<string, string[]> = {
  bench: [
    '--rate',
    '--seconds',
    '--users',
    '--latency-ms',
    '--targets',
    '--function-node-options',
    '--cpu-prof',
    '--no-docs',
    '--saturation-rates',
    '--saturation-seconds',
    '--metrics',
  ],
  'bench:renewal': ['--tenants', '--mailboxes', '--kinds', '--store'],
  'bench:rich': ['--notifications', '--mailboxes'],
  'bench:series': ['--series', '--mailboxes', '--days'],
  'bench:fence': ['--mailboxes', '--events', '--posts', '--concurrency', '--rounds', '--store'],
  'bench:formats': ['--changes', '--rounds', '--concurrency', '--client'],
  'bench:memory': ['--posts', '--concurrency', '--hostile', '--hostile-bytes', '--function-node-options'],
  build: ['gcp', 'azure', 'cli', '--out'],
  dev: ['Ctrl-C', 'G2K_DEV_SIM_PORT'],
  'docs:settings': [],
  'docs:schemas': [],
  arch: ['--json'],
  kafka: ['start', 'stop', 'status', 'env'],
  'graph-sim': ['--port', '--help'],
  graph2kafka: ['status', 'subscriptions', 'deadletter', 'repair', 'cert', '--version'],
  'infra/gcp/deploy.sh': [
    '--dry-run',
    '--config',
    'bootstrap',
    'secret',
    'deploy',
    'alerts',
    'subscribe',
    'verify',
    'revisions',
    'rollback',
    'operator-env',
    'infra',
  ],
  'infra/azure/deploy.sh': [
    '--dry-run',
    '--config',
    'infra',
    'secret',
    'publish',
    'subscribe',
    'verify',
    'releases',
    'rollback',
    'operator-env',
  ],
  'infra/entra/register-app.sh': ['--dry-run', '--groups', '--kinds', '--multi-tenant', '--years'],
};
/** Scripts that run another tool, whose own --help answers (jest, eslint, prettier, tsc). */
const OTHER_TOOLS = ['test', 'lint', 'format', 'typecheck', 'fuzz', 'chaos'];

const scripts = (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

/**
 * `node scripts/require-node.mjs && node [flags] FILE` (or `exec "$(node -p process.execPath)" [flags] FILE`, as
 * `dev` runs so that pnpm sees its exit code) → the flags and the file, run here with this Node.
 */
function nodeCommand(name: string): string[] {
  const script = scripts[name]!;
  const match = /&& (?:exec "\$\(node -p process\.execPath\)"|node) ((?:--\S+ )*)(\S+\.ts)$/.exec(script);
  if (!match) throw new Error(`package.json script ${name} is not "node [flags] FILE.ts": ${script}`);
  return [...match[1]!.split(' ').filter(Boolean), match[2]!];
}

/** Runs FILE ARGS… and answers its exit code and output. */
function run(command: string[], extra: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [file, ...args] = command;
  return new Promise((resolve) => {
    execFile(file!, [...args, extra], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const commands = new Map(
  Object.keys(OPTIONS).map((name) => [
    name,
    name.endsWith('.sh') ? [path.join(root, name)] : [process.execPath, ...nodeCommand(name)],
  ]),
);

describe('every command answers --help', () => {
  const answers = new Map<string, Awaited<ReturnType<typeof run>>>();
  // A script loads its imports before it reads its command line (about a second each): three at a time.
  beforeAll(async () => {
    const queue = [...commands];
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) answers.set(next[0], await run(next[1], '--help'));
    };
    await Promise.all([worker(), worker(), worker()]);
  }, 120_000);

  it('lists every package.json script here or among the other tools', () => {
    expect(Object.keys(scripts).filter((s) => !(s in OPTIONS) && !OTHER_TOOLS.includes(s))).toEqual([]);
  });

  it.each(Object.keys(OPTIONS))('%s --help: exit 0, its usage on stdout naming its options', (name) => {
    const { code, stdout, stderr } = answers.get(name)!;
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.trim()).not.toBe('');
    // The deploy scripts printed a line of their code after their header.
    expect(stdout).not.toContain('set -euo pipefail');
    for (const option of OPTIONS[name]!) expect(stdout).toContain(option);
  });

  it('a wrong option gets what is wrong and the usage, exit 2, not a stack trace', async () => {
    for (const name of ['bench:series', 'build']) {
      const { code, stderr } = await run(commands.get(name)!, '--no-such-option');
      expect(code).toBe(2);
      expect(stderr).toContain("Unknown option '--no-such-option'");
      expect(stderr).toContain(`pnpm ${name}`);
      expect(stderr).not.toMatch(/^ {4}at /m);
    }
  }, 60_000);
});
