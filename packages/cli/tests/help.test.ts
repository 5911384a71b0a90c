import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMANDS } from '../src/commands.ts';
import { CLI_RUN_MS, graph2kafka } from './run-cli.ts';

const rootVersion = (
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

/** Runs CLI command lines two at a time (each loads core: about a second). */
async function runAll(lines: string[][]): Promise<Array<Awaited<ReturnType<typeof graph2kafka>>>> {
  const answers: Array<Awaited<ReturnType<typeof graph2kafka>>> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < lines.length; i = next++) answers[i] = await graph2kafka(lines[i]!, {});
  };
  await Promise.all([worker(), worker()]);
  return answers;
}

describe('graph2kafka --help, --version and usage errors', () => {
  it(
    "answers each command's --help with its own usage, every option and an example, exit 0",
    async () => {
      const answers = await runAll(COMMANDS.map((c) => [...c.name.split(' '), '--help']));
      COMMANDS.forEach((spec, i) => {
        const { code, stdout, stderr } = answers[i]!;
        expect({ command: spec.name, code, stderr }).toEqual({ command: spec.name, code: 0, stderr: '' });
        expect(stdout).toMatch(new RegExp(`^Usage: graph2kafka ${spec.name}( |\\n)`));
        for (const option of Object.keys(spec.options)) expect(stdout).toContain(`--${option}`);
        expect(stdout).toMatch(/\nExamples:\n {2}graph2kafka /);
        expect(stdout).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 /);
      });
      // Not the global help: each names its own command only.
      expect(answers[0]!.stdout).not.toContain('subscriptions create');
    },
    COMMANDS.length * CLI_RUN_MS,
  );

  it(
    'prints the version of the package, exit 0',
    async () => {
      for (const flag of ['--version', '-V'])
        expect(await graph2kafka([flag], {})).toEqual({ code: 0, stdout: `${rootVersion}\n`, stderr: '' });
    },
    2 * CLI_RUN_MS,
  );

  it(
    'names the global and a group’s commands; exit 2 with what is wrong for what it does not know',
    async () => {
      const [global, group, unknown, unknownSub, badOption, positional, none] = await runAll([
        ['--help'],
        ['deadletter', '--help'],
        ['frobnicate'],
        ['deadletter', 'purge'],
        ['status', '--user', 'x'],
        ['status', 'now'],
        [],
      ]);
      expect(global!.code).toBe(0);
      for (const spec of COMMANDS) expect(global!.stdout).toContain(`  ${spec.name} `);
      expect(global!.stdout).toContain('--version');
      expect(group).toMatchObject({ code: 0, stdout: expect.stringContaining('deadletter replay') });
      expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'frobnicate'") });
      expect(unknownSub).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command 'purge'[^]*list/) });
      expect(badOption).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/status: Unknown option '--user'[^]*graph2kafka status --help/),
      });
      expect(positional).toMatchObject({ code: 2, stderr: expect.stringContaining("Unexpected argument 'now'") });
      expect(none).toMatchObject({ code: 2, stderr: expect.stringContaining('expected a command') });
      for (const answer of [unknown, unknownSub, badOption, positional, none]) {
        expect(answer!.stdout).toBe('');
        expect(answer!.stderr).not.toMatch(/^ {4}at /m);
      }
    },
    7 * CLI_RUN_MS,
  );
});
