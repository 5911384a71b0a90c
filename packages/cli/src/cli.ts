#!/usr/bin/env node
// graph2kafka status, subscriptions list|create|renew|delete|resync|snapshot, deadletter list|replay, repair, cert create — reads
// the same settings as the functions (environment, or `node --env-file=FILE`). Exit codes: 0 done (status:
// healthy), 1 some operations failed (status: something needs action), 2 usage or configuration.
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

const USAGE = `Usage: graph2kafka status [--json]
       graph2kafka subscriptions <command> [options]
       graph2kafka cert create --id ID --certificate-out FILE [--bits 2048] [--days 365]
       graph2kafka deadletter list|replay [--max N] [--signed-only]
       graph2kafka repair

Status:
  status [--json]           subscriptions per tenant, kind and state with the next expiry, the last timer runs, the
                            repair backlog, dead letters and the endpoint's recent answers; exit 1 when something
                            needs action (each is named with what to do), 0 when healthy

Subscriptions:
  list                      this app's subscriptions on G2K_NOTIFICATION_URL in every tenant, with expiry and whether
                            their secret is stored
  create                    create what the desired state asks for and is missing (and renew what is due), like the timer
  renew                     renew every stored subscription now
  delete --id ID | --all    delete one subscription, or all of this app's on G2K_NOTIFICATION_URL (every tenant)
  resync --user ID          read a mailbox's changes (each of its subscriptions' kinds) by delta and produce them
  snapshot --user ID [--kind KIND]
                            produce every item of one mailbox's subscribed kind again (default events) from a full
                            delta round, as a new target's snapshot does (source "snapshot")

Dead letters (G2K_DEAD_LETTER_TOPIC: changes Kafka refused even reduced):
  list [--max N]            print them, one JSON line each (default at most 100)
  replay [--max N]          read each change's item from Graph again and produce it under today's limits;
                            replayed letters are remembered (consumer group graph2kafka-deadletter-replay).
                            A letter for a target graph2kafka does not subscribe to now (tenant, kind, mailbox,
                            folder) is refused: named on stderr with the reason, nothing read, exit 1; so is
                            a letter whose signature none of the keys made (G2K_DEAD_LETTER_KEY). With
                            --signed-only, unsigned letters (older versions') are refused too

Repair:
  repair                    complete the records produced without their event now, as the timer run does

Rich notifications (docs/rich-notifications.md):
  cert create --id ID --certificate-out FILE
                            make an encryption key pair and self-signed certificate: the certificate (public, base64
                            DER, for G2K_RICH_CERTIFICATE) goes to FILE, the private key (PEM) to standard output
                            only, to pipe into the vault: ... | infra/azure/deploy.sh secret NAME (or infra/gcp)

Settings come from the environment, as for the functions (see README, Configuration).`;

function usage(message?: string): never {
  if (message) console.error(`graph2kafka: ${message}\n`);
  console.error(USAGE);
  process.exit(2);
}

function summary(report: ReconcileReport): string {
  return `created ${report.created.length}, renewed ${report.renewed.length}, recreated ${report.recreated.length}, deleted ${report.deleted.length}, resynced ${report.resynced.length}, unchanged ${report.unchanged}, errors ${report.errors.length}`;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        id: { type: 'string' },
        all: { type: 'boolean' },
        user: { type: 'string' },
        kind: { type: 'string' },
        max: { type: 'string' },
        'signed-only': { type: 'boolean' },
        help: { type: 'boolean' },
        json: { type: 'boolean' },
        'certificate-out': { type: 'string' },
        bits: { type: 'string' },
        days: { type: 'string' },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
  const { positionals, values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [group, command] = positionals;
  const commands: Record<string, string[]> = {
    cert: ['create'],
    subscriptions: ['list', 'create', 'renew', 'delete', 'resync', 'snapshot'],
    deadletter: ['list', 'replay'],
    repair: [],
    status: [],
  };
  if (!group || !commands[group]) usage('expected: graph2kafka status|subscriptions|deadletter|repair|cert …');
  if (commands[group].length && !command) usage(`expected: graph2kafka ${group} <command>`);
  if (command && !commands[group].includes(command)) usage(`unknown command '${command}'`);
  if (command === 'delete' && !values.id && !values.all) usage('delete needs --id ID or --all');
  if (command === 'resync' && !values.user) usage('resync needs --user ID');
  if (command === 'snapshot' && !values.user) usage('snapshot needs --user ID (and --kind KIND, default events)');
  const kind = values.kind ?? 'events';
  if (!isKindName(kind)) usage(`--kind takes one of ${KIND_NAMES.join(', ')}, got '${kind}'`);
  const max = values.max === undefined ? 100 : Number(values.max);
  if (!Number.isInteger(max) || max < 1) usage(`--max takes a whole number of at least 1, got '${values.max}'`);
  if (values['signed-only'] && command !== 'replay') usage('--signed-only applies to deadletter replay only');

  // Needs no settings: it makes a key pair before anything is deployed.
  if (group === 'cert') return createCertificate(values);

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
        console.error(`${found.length} dead letter(s) in ${app.config.topics.deadLetter}`);
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
        const subs = await manager.listSubscriptions();
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
        report = await manager.renewAll(progress);
        break;
      case 'delete':
        report = await manager.deleteSubscriptions(values.all ? { all: true } : { id: values.id! });
        break;
      case 'resync': {
        const produced = await manager.resyncMailbox(values.user!);
        console.log(`resynced ${values.user}: ${produced} change(s) produced`);
        return 0;
      }
      case 'snapshot': {
        try {
          const produced = await manager.snapshotTarget(values.user!, kind);
          console.log(`snapshot of ${kind} of ${values.user}: ${produced} item(s) produced`);
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

async function createCertificate(values: {
  id?: string;
  'certificate-out'?: string;
  bits?: string;
  days?: string;
}): Promise<number> {
  if (!values.id) usage('cert create needs --id ID (the encryptionCertificateId; a new one for every rotation)');
  if (!values['certificate-out'])
    usage('cert create needs --certificate-out FILE (the public certificate is written there)');
  const bits = values.bits === undefined ? 2048 : Number(values.bits);
  const days = values.days === undefined ? 365 : Number(values.days);
  if (!Number.isInteger(days) || days < 1) usage(`--days takes a whole number of at least 1, got '${values.days}'`);
  let cert;
  try {
    cert = await createEncryptionCertificate(values.id, bits, days);
  } catch (err) {
    usage((err as Error).message);
  }
  writeFileSync(values['certificate-out'], `${cert.certificate}\n`);
  process.stdout.write(cert.privateKeyPem);
  console.error(
    `certificate ${cert.id} (thumbprint ${cert.thumbprint}, valid until ${cert.notAfter}) written to ${values['certificate-out']}; set G2K_RICH_CERTIFICATE_ID=${cert.id}, G2K_RICH_CERTIFICATE to its content, and G2K_RICH_PRIVATE_KEY to the vault reference of the key printed above`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`graph2kafka: ${(err as Error).message}`);
    process.exit(1);
  },
);
