// What each command of the ops CLI is called, takes and does: one table that the parser, the global help and
// each command's own --help are made from, so that an option cannot be accepted without being documented.

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The value's placeholder in the help (`--id ID`); string options only. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  /** The words that name it: `status`, `subscriptions create`. */
  name: string;
  /** One line for the global help's list. */
  summary: string;
  /** What it does, for its own --help: why an operator runs it and what the exit code means. */
  description: string;
  options: Record<string, OptionSpec>;
  /** Command lines an operator can copy, each with what it shows; the first is the most common. */
  examples: Array<[command: string, meaning: string]>;
  /** Checks between options that parseArgs cannot express; answers what is wrong, or nothing. */
  check?: (values: Record<string, string | boolean | undefined>) => string | undefined;
}

export const COMMANDS: CommandSpec[] = [
  {
    name: 'status',
    summary: 'is the pipeline healthy, and what to do if not',
    description: `Reads the state store and Kafka (asks Graph nothing): subscriptions per tenant, kind and state with the
next expiry, the last timer runs, the repair backlog, recurring series owed an expansion, dead letters not
replayed, and the endpoint's answers over the last 15 minutes. Exit 0 when healthy; 1 when something needs
action, each problem named with what to do (the alert rules' thresholds).`,
    options: { json: { type: 'boolean', help: 'the same report as JSON, for scripts' } },
    examples: [
      ['graph2kafka status', 'the report for an operator'],
      ['node --env-file=prod.env "$(command -v graph2kafka)" status --json', 'as JSON, with the settings from a file'],
    ],
  },
  {
    name: 'subscriptions list',
    summary: "this app's subscriptions in every tenant",
    description: `Lists this app's subscriptions on G2K_NOTIFICATION_URL in every tenant (asks Graph), with expiry,
whether their secret is stored, and their rich-notification certificate.`,
    options: {},
    examples: [['graph2kafka subscriptions list', 'one line per subscription; the count on stderr']],
  },
  {
    name: 'subscriptions create',
    summary: 'create what the desired state asks for and is missing, like the timer',
    description: `Creates the subscriptions the desired state asks for and Graph does not have (and renews what is due),
as a timer run does. Exit 1 when some could not be made; each error is named.`,
    options: {},
    examples: [['graph2kafka subscriptions create', 'progress on stderr, the counts on stdout']],
  },
  {
    name: 'subscriptions renew',
    summary: 'renew every stored subscription now',
    description: 'Renews every stored subscription now, whatever its expiry. Exit 1 when some renewals failed.',
    options: {},
    examples: [['graph2kafka subscriptions renew', 'after an outage that kept the timer from running']],
  },
  {
    name: 'subscriptions delete',
    summary: 'delete one subscription, or all of this app’s',
    description: `Deletes one subscription (in Graph and the state store), or every one of this app's on
G2K_NOTIFICATION_URL in every tenant. The next timer run creates what the desired state still asks for, with a
new secret: the way to retire a clientState that is in other hands.`,
    options: {
      id: { type: 'string', value: 'ID', help: 'the subscription to delete' },
      all: { type: 'boolean', help: 'every subscription of this app on G2K_NOTIFICATION_URL, every tenant' },
    },
    examples: [
      ['graph2kafka subscriptions delete --id 7f1e0c2a-…', 'one subscription'],
      ['graph2kafka subscriptions delete --all', 'before tearing a deployment down'],
    ],
    check: (v) => (v.id || v.all ? undefined : 'subscriptions delete needs --id ID or --all'),
  },
  {
    name: 'subscriptions resync',
    summary: "read a mailbox's changes by delta and produce them",
    description: `Reads a mailbox's changes by delta, for each kind it is subscribed to, and produces them: after
notifications were lost (a subscription was gone for a while).`,
    options: { user: { type: 'string', value: 'ID', help: "the mailbox's user id (GUID)" } },
    examples: [['graph2kafka subscriptions resync --user 5c1f…', 'the changes of one mailbox since its last delta']],
    check: (v) => (v.user ? undefined : 'subscriptions resync needs --user ID'),
  },
  {
    name: 'subscriptions snapshot',
    summary: "produce every item of one mailbox's subscribed kind again",
    description: `Produces every item of one mailbox's subscribed kind again from a full delta round (source
"snapshot"), as a new target's snapshot does: to rebuild a compacted topic's copy of one mailbox. Exit 1 when
the snapshot failed.`,
    options: {
      user: { type: 'string', value: 'ID', help: "the mailbox's user id (GUID)" },
      kind: { type: 'string', value: 'KIND', help: 'events (default), messages, contacts, users or groups' },
    },
    examples: [
      ['graph2kafka subscriptions snapshot --user 5c1f…', "the mailbox's events"],
      ['graph2kafka subscriptions snapshot --user 5c1f… --kind contacts', 'its contacts'],
    ],
    check: (v) => (v.user ? undefined : 'subscriptions snapshot needs --user ID (and --kind KIND, default events)'),
  },
  {
    name: 'deadletter list',
    summary: 'print the dead letters, one JSON line each',
    description: `Prints the changes in G2K_DEAD_LETTER_TOPIC (what Kafka refused even reduced), one JSON line each
with its partition and offset; the count on stderr.`,
    options: { max: { type: 'string', value: 'N', help: 'at most N letters (default 100)' } },
    examples: [['graph2kafka deadletter list --max 10', 'the first ten']],
  },
  {
    name: 'deadletter replay',
    summary: "read each dead letter's item from Graph again and produce it",
    description: `Reads each dead letter's item from Graph again and produces it under today's limits (source "repair");
replayed letters are remembered (consumer group graph2kafka-deadletter-replay). A letter for a target
graph2kafka does not subscribe to now (tenant, kind, mailbox, folder), or whose signature none of the keys made
(G2K_DEAD_LETTER_KEY), is refused: named on stderr with the reason, nothing read, exit 1.`,
    options: {
      max: { type: 'string', value: 'N', help: 'at most N letters (default 100)' },
      'signed-only': {
        type: 'boolean',
        help: "refuse unsigned letters too (older versions'); needs G2K_DEAD_LETTER_KEY",
      },
    },
    examples: [
      ['graph2kafka deadletter replay', 'replay up to 100 letters'],
      ['graph2kafka deadletter replay --signed-only --max 1000', 'only letters the functions signed'],
    ],
  },
  {
    name: 'repair',
    summary: 'complete the records produced without their item now',
    description: `Completes the records produced without their item (enriched: false) now, as the timer run does, for up
to 10 minutes. Exit 1 when some are still waiting.`,
    options: {},
    examples: [['graph2kafka repair', 'after Graph throttled a burst']],
  },
  {
    name: 'cert create',
    summary: 'make a key pair and certificate for rich notifications',
    description: `Makes an encryption key pair and self-signed certificate for rich notifications
(docs/rich-notifications.md). The certificate (public, base64 DER, for G2K_RICH_CERTIFICATE) goes to FILE; the
private key (PEM) to standard output only, to pipe into the vault. Needs no settings.`,
    options: {
      id: { type: 'string', value: 'ID', help: 'the encryptionCertificateId (a new one for every rotation)' },
      'certificate-out': { type: 'string', value: 'FILE', help: 'where the public certificate is written' },
      bits: { type: 'string', value: 'N', help: 'RSA key size, 2048 (default) to 4096' },
      days: { type: 'string', value: 'N', help: 'days the certificate is valid (default 365)' },
    },
    examples: [
      [
        'graph2kafka cert create --id g2k-2026-12 --certificate-out rich.b64 | infra/azure/deploy.sh secret g2k-rich-key',
        'the key straight into Key Vault (or infra/gcp/deploy.sh secret)',
      ],
    ],
    check: (v) =>
      !v.id
        ? 'cert create needs --id ID (the encryptionCertificateId; a new one for every rotation)'
        : !v['certificate-out']
          ? 'cert create needs --certificate-out FILE (the public certificate is written there)'
          : undefined,
  },
];

/** The command groups (`subscriptions`, `deadletter`, `cert`) and the single-word commands, in order. */
export const GROUPS = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]!))];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function commandsOf(group: string): CommandSpec[] {
  return COMMANDS.filter((c) => c.name.split(' ')[0] === group);
}
