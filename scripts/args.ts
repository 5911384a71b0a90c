// The command line of the project's scripts, read one way everywhere: `--help` (or `-h`) prints the usage and
// exits 0; an unknown or malformed option prints what is wrong and the usage and exits 2. node:util's parseArgs
// alone throws on either, which ends the script in a stack trace instead of an answer.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function parseCommandLine<const T extends ParseArgsConfig>(
  usage: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  // An option the usage does not name is one an operator cannot find: fail where the script is written (the
  // help test runs every script's --help), not in front of them.
  const unnamed = Object.keys(config.options ?? {}).filter((name) => !usage.includes(`--${name}`));
  if (unnamed.length) throw new Error(`the usage does not name ${unnamed.map((n) => `--${n}`).join(', ')}`);
  const args = config.args ?? process.argv.slice(2);
  // Before parsing, so that `--help` answers even beside an option that would not parse.
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    process.exit(2);
  }
}
