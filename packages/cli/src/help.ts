// The help texts, made from the command table: the global list, a group's list, and one command's usage,
// options and examples.
import { COMMANDS, commandsOf, type CommandSpec } from './commands.ts';

export const EXIT_CODES = `Exit codes:
  0  done; status: healthy
  1  some operations failed; status: something needs action (each named with what to do)
  2  usage or configuration error (what is wrong is named)`;

const SETTINGS = `Settings come from the environment, as for the functions (README, Configuration); from a file:
  node --env-file=FILE "$(command -v graph2kafka)" status`;

function synopsis(spec: CommandSpec): string {
  const options = Object.entries(spec.options).map(([name, o]) => `[--${name}${o.value ? ` ${o.value}` : ''}]`);
  return ['graph2kafka', spec.name, ...options].join(' ');
}

export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return `Usage: graph2kafka COMMAND [options]
       graph2kafka COMMAND --help    that command's options and examples
       graph2kafka --version         (or -V) the version, to quote in a report

Commands:
${lines.join('\n')}

${EXIT_CODES}

${SETTINGS}`;
}

export function groupHelp(group: string): string {
  const commands = commandsOf(group);
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return `Usage: graph2kafka ${group} ${commands.map((c) => c.name.split(' ')[1]).join('|')} [options]

${commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

graph2kafka ${group} COMMAND --help for its options and examples.`;
}

export function commandHelp(spec: CommandSpec): string {
  const options = Object.entries(spec.options).map(([name, o]) => [`--${name}${o.value ? ` ${o.value}` : ''}`, o.help]);
  options.push(['-h, --help', 'this help']);
  const width = Math.max(...options.map(([flag]) => flag!.length)) + 2;
  return `Usage: ${synopsis(spec)}

${spec.description}

Options:
${options.map(([flag, help]) => `  ${flag!.padEnd(width)}${help}`).join('\n')}

Examples:
${spec.examples.map(([command, meaning]) => `  ${command}\n      ${meaning}`).join('\n')}

${EXIT_CODES}

${SETTINGS}`;
}

/** One line pointing at the help, after an error: the whole help would bury the message. */
export function seeHelp(spec?: CommandSpec): string {
  return spec
    ? `Usage: ${synopsis(spec)}\nRun graph2kafka ${spec.name} --help for its options and examples.`
    : 'Run graph2kafka --help for the commands.';
}
