#!/usr/bin/env node
// graph2kafka status, subscriptions list|create|renew|delete|resync|snapshot, deadletter list|replay, repair, cert
// create — reads the same settings as the functions (environment, or `node --env-file=FILE`). The commands, their
// options and help are in commands.ts; the exit codes in help.ts (EXIT_CODES).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  createAppFromEnv,
  createEncryptionCertificate,
  formatStatus,
  pipelineStatus,
  isKindName,
  KIND_NAMES,
  operatorSecretSources,
  silentLogger,
  type ReconcileReport,
  type SecretSource,
} from '@graph2kafka/core';
import { findCommand, GROUPS, type CommandSpec } from './commands.ts';
import { commandHelp, globalHelp, groupHelp, seeHelp } from './help.ts';
import { packageVersion } from './version.ts';

type Values = Record<string, string | boolean | undefined>;

/** A string option's value (the table declares its type; parseArgs checked it). */
const text = (values: Values, name: string): string | undefined =>
  typeof values[name] === 'string' ? values[name] : undefined;

/** A usage or configuration error: what is wrong, and where to read more; exit 2. */
function usage(message: string, spec?: CommandSpec): never {
  console.error(`graph2kafka: ${message}\n${seeHelp(spec)}`);
  process.exit(2);
}

/**
 * The command and its options, or an answer already given: --version and --help print and exit 0, anything the
 * table does not know exits 2 naming it. Command words come first (`graph2kafka subscriptions delete --all`).
 */
function parseCommandLine(args: string[]): { spec: CommandSpec; values: Values } {
  const [first, second] = args;
  if (first === '--version' || first === '-V') {
    console.log(packageVersion());
    process.exit(0);
  }
  if (first === '--help' || first === '-h') {
    console.log(globalHelp());
    process.exit(0);
  }
  if (first === undefined) {
    console.error(`graph2kafka: expected a command\n\n${globalHelp()}`);
    process.exit(2);
  }
  if (first.startsWith('-')) usage(`expected a command before '${first}'`);
  if (!GROUPS.includes(first)) usage(`unknown command '${first}'`);
  let spec = findCommand(first);
  let rest = args.slice(1);
  if (!spec) {
    // A group: its command is the next word.
    if (second === '--help' || second === '-h') {
      console.log(groupHelp(first));
      process.exit(0);
    }
    if (second === undefined || second.startsWith('-')) {
      console.error(`graph2kafka: expected a command of ${first}\n\n${groupHelp(first)}`);
      process.exit(2);
    }
    spec = findCommand(`${first} ${second}`);
    if (!spec) {
      console.error(`graph2kafka: unknown command '${second}'\n\n${groupHelp(first)}`);
      process.exit(2);
    }
    rest = args.slice(2);
  }
  // Before parsing, so that --help answers even beside an option that would not parse.
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp(spec));
    process.exit(0);
  }
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: spec.options, strict: true, allowPositionals: false }));
  } catch (err) {
    usage(`${spec.name}: ${(err as Error).message}`, spec);
  }
  const wrong = spec.check?.(values);
  if (wrong) usage(wrong, spec);
  return { spec, values };
}

function summary(report: ReconcileReport): string {
  return `created ${report.created.length}, renewed ${report.renewed.length}, recreated ${report.recreated.length}, deleted ${report.deleted.length}, resynced ${report.resynced.length}, unchanged ${report.unchanged}, errors ${report.errors.length}`;
}

async function main(): Promise<number> {
  const { spec, values } = parseCommandLine(process.argv.slice(2));
  const [group, command] = spec.name.split(' ') as [string, string | undefined];
  const kind = text(values, 'kind') ?? 'events';
  if (!isKindName(kind)) usage(`--kind takes one of ${KIND_NAMES.join(', ')}, got '${kind}'`, spec);
  const maxText = text(values, 'max');
  const max = maxText === undefined ? 100 : Number(maxText);
  if (!Number.isInteger(max) || max < 1) usage(`--max takes a whole number of at least 1, got '${maxText}'`, spec);

  // Needs no settings: it makes a key pair before anything is deployed.
  if (group === 'cert') return createCertificate(values, spec);

  // sm: and Key Vault references, resolved with the operator's own credentials (docs/operations.md).
  const secrets: SecretSource[] = await operatorSecretSources(process.env);
  let app;
  try {
    app = await createAppFromEnv(process.env, secrets, { logger: silentLogger });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  try {
    if (group === 'status') {
      const report = await pipelineStatus(app);
      console.log(values.json ? JSON.stringify(report, null, 2) : formatStatus(report));
      return report.healthy ? 0 : 1;
    }
    if (group === 'deadletter') {
      const letters = app.deadLetters();
      if (command === 'list') {
        const found = await letters.list(max);
        for (const l of found) console.log(JSON.stringify({ partition: l.partition, offset: l.offset, ...l.value }));
        console.error(`${found.length} dead letter(s) in ${letters.topics.join(', ')}`);
        return 0;
      }
      if (values['signed-only'] && !app.config.deadLetterKeys) {
        console.error(
          'graph2kafka: --signed-only needs G2K_DEAD_LETTER_KEY, the key the functions sign dead letters with (run with their settings)',
        );
        return 2;
      }
      const report = await letters.replay(max, { signedOnly: values['signed-only'] === true });
      for (const r of report.refused) console.error(`refused dead letter ${r.at} (${r.reason}): ${r.message}`);
      console.log(
        `replayed ${report.replayed}, dead-lettered again ${report.deadLetteredAgain}, refused ${report.refused.length}${report.stoppedAt ? `, stopped at ${report.stoppedAt}` : ''}`,
      );
      return report.stoppedAt || report.refused.length ? 1 : 0;
    }
    if (group === 'repair') {
      const report = await app.repairer.drain(Date.now() + 10 * 60_000);
      console.log(
        `repaired ${report.repaired}, gone ${report.gone}, abandoned ${report.abandoned}, still waiting ${report.left}`,
      );
      return report.left ? 1 : 0;
    }
    const manager = app.manager;
    if (!manager) {
      console.error(
        'graph2kafka: the subscription manager is off: set G2K_NOTIFICATION_URL, G2K_LIFECYCLE_URL and the desired state (G2K_SUBSCRIPTIONS_FILE, or G2K_SUBSCRIBE_USERS)',
      );
      return 2;
    }
    const progress = (line: string): void => console.error(`… ${line}`);
    let report: ReconcileReport | undefined;
    switch (command) {
      case 'list': {
        const subs = await manager.operations.listSubscriptions();
        for (const s of subs)
          console.log(
            `${s.id}  ${s.tenantId}  ${s.resource}  expires ${s.expirationDateTime}  ${s.stored ? 'secret stored' : 'NO SECRET (run create to replace it)'}${s.encryptionCertificateId ? `  rich, certificate ${s.encryptionCertificateId}` : ''}`,
          );
        console.error(`${subs.length} subscription(s)`);
        const rich = app.config.rich;
        const onPrevious = rich?.previous
          ? subs.filter((x) => x.encryptionCertificateId === rich.previous!.id).length
          : 0;
        if (rich?.previous)
          console.error(
            onPrevious
              ? `${onPrevious} rich subscription(s) still on the previous certificate ${rich.previous.id}: keep G2K_RICH_PREVIOUS_* until the timer moved them`
              : `no subscription uses the previous certificate ${rich.previous.id} any more: remove G2K_RICH_PREVIOUS_CERTIFICATE_ID and G2K_RICH_PREVIOUS_PRIVATE_KEY`,
          );
        return 0;
      }
      case 'create':
        report = await manager.reconcile(progress);
        break;
      case 'renew':
        report = await manager.operations.renewAll(progress);
        break;
      case 'delete':
        report = await manager.operations.deleteSubscriptions(values.all ? { all: true } : { id: text(values, 'id')! });
        break;
      case 'resync': {
        const user = text(values, 'user')!;
        const produced = await manager.operations.resyncMailbox(user);
        console.log(`resynced ${user}: ${produced} change(s) produced`);
        return 0;
      }
      case 'snapshot': {
        try {
          const user = text(values, 'user')!;
          const produced = await manager.operations.snapshotTarget(user, kind);
          console.log(`snapshot of ${kind} of ${user}: ${produced} item(s) produced`);
          return 0;
        } catch (err) {
          console.error(`graph2kafka: ${(err as Error).message}`);
          return 1;
        }
      }
    }
    console.log(summary(report!));
    for (const error of report!.errors) console.error(`error: ${error}`);
    return report!.errors.length ? 1 : 0;
  } finally {
    await app.close();
  }
}

async function createCertificate(values: Values, spec: CommandSpec): Promise<number> {
  // The command's check made sure of both.
  const id = text(values, 'id')!;
  const out = text(values, 'certificate-out')!;
  const bitsText = text(values, 'bits');
  const daysText = text(values, 'days');
  const bits = bitsText === undefined ? 2048 : Number(bitsText);
  const days = daysText === undefined ? 365 : Number(daysText);
  if (!Number.isInteger(days) || days < 1) usage(`--days takes a whole number of at least 1, got '${daysText}'`, spec);
  let cert;
  try {
    cert = await createEncryptionCertificate(id, bits, days);
  } catch (err) {
    usage((err as Error).message, spec);
  }
  writeFileSync(out, `${cert.certificate}\n`);
  process.stdout.write(cert.privateKeyPem);
  console.error(
    `certificate ${cert.id} (thumbprint ${cert.thumbprint}, valid until ${cert.notAfter}) written to ${out}; set G2K_RICH_CERTIFICATE_ID=${cert.id}, G2K_RICH_CERTIFICATE to its content, and G2K_RICH_PRIVATE_KEY to the vault reference of the key printed above`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Nothing here expected it: where it came from goes with the message, for whoever looks into it (through the
    // bundle's source maps, a line of our TypeScript).
    console.error(`graph2kafka: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
