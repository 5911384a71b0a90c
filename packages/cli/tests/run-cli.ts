import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = path.join(__dirname, '..', 'src', 'cli.ts');
/** How long one CLI command may run before the test calls it hung. */
export const CLI_RUN_MS = 60_000;

export interface CliAnswer {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file args…` as an operator would (a process of its own), with `env` added; answers its exit and output. */
export async function runCommand(
  file: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<CliAnswer> {
  try {
    const { stdout, stderr } = await run(file, args, { env: { ...process.env, ...env }, timeout: CLI_RUN_MS });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs the ops CLI from its sources, with `env` added. */
export function graph2kafka(args: string[], env: Record<string, string>): Promise<CliAnswer> {
  return runCommand(process.execPath, ['--conditions=@graph2kafka/source', cli, ...args], env);
}
