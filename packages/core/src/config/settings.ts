/**
 * Every setting graph2kafka reads, by domain: the one source of the README's configuration tables
 * (`pnpm docs:settings` writes them; a test fails when they drift) and of the configuration error messages.
 */
export type SettingDomain = 'graph' | 'kafka' | 'topics' | 'receive' | 'state' | 'subscriptions' | 'operations';

export interface SettingSpec {
  domain: SettingDomain;
  /** As the README shows it: a value, `required`, `none`, or a phrase. */
  default: string;
  meaning: string;
}

export const SETTINGS = {
  AZURE_TENANT_ID: { domain: 'graph', default: 'required', meaning: 'the app registration’s home tenant (GUID)' },
  AZURE_CLIENT_ID: {
    domain: 'graph',
    default: 'required',
    meaning:
      'the app registration’s client id (GUID); it needs each kind’s application permission: `Calendars.Read`, `Mail.Read`, `Contacts.Read`, `User.Read.All`, `Group.Read.All`',
  },
  AZURE_CLIENT_SECRET: {
    domain: 'graph',
    default: 'required',
    meaning: 'the client secret, or a secret reference (`sm:projects/…/secrets/…/versions/…`)',
  },
  GRAPH_BASE_URL: {
    domain: 'graph',
    default: '`https://graph.microsoft.com/v1.0`',
    meaning: 'Graph base URL (national clouds: `https://graph.microsoft.us/v1.0`, …; graph-sim)',
  },
  AZURE_AUTHORITY_HOST: {
    domain: 'graph',
    default: '`https://login.microsoftonline.com`',
    meaning: 'Entra ID login host (`https://login.microsoftonline.us`, …)',
  },
  G2K_GRAPH_CA_FILE: {
    domain: 'graph',
    default: 'none',
    meaning: 'extra CA certificate (PEM) to trust for Graph and login (graph-sim)',
  },
  G2K_GRAPH_BATCH_CONCURRENCY: {
    domain: 'graph',
    default: '`4`',
    meaning: '`$batch` requests in flight at once per function instance (1–32)',
  },
  G2K_GRAPH_BATCH_LINGER_MS: {
    domain: 'graph',
    default: '`40`',
    meaning: 'how long a read waits for others to share its `$batch` (0–500)',
  },
  KAFKA_BROKERS: { domain: 'kafka', default: 'required', meaning: 'bootstrap servers, `host:port,…`' },
  KAFKA_CLIENT_ID: { domain: 'kafka', default: '`graph2kafka`', meaning: 'Kafka client id' },
  KAFKA_CLIENT: {
    domain: 'kafka',
    default: '`kafkajs`',
    meaning:
      'the producer library: `kafkajs` or `platformatic` (`@platformatic/kafka`); both pass the same tests, see Performance for their figures',
  },
  KAFKA_SSL: { domain: 'kafka', default: '`false`', meaning: 'TLS to Kafka' },
  KAFKA_SSL_CA_FILE: { domain: 'kafka', default: 'none', meaning: 'CA certificate (PEM file) for Kafka TLS' },
  KAFKA_SSL_CA_PEM: {
    domain: 'kafka',
    default: 'none',
    meaning: 'CA certificate (PEM text, or a secret reference) for Kafka TLS',
  },
  KAFKA_SSL_CLIENT_CERT: {
    domain: 'kafka',
    default: 'none',
    meaning: 'client certificate (PEM, or a secret reference) for mutual TLS',
  },
  KAFKA_SSL_CLIENT_KEY: {
    domain: 'kafka',
    default: 'none',
    meaning: 'client private key (PEM, or a secret reference) for mutual TLS',
  },
  KAFKA_SASL_MECHANISM: {
    domain: 'kafka',
    default: 'none',
    meaning: '`plain`, `scram-sha-256`, `scram-sha-512` or `oauthbearer`',
  },
  KAFKA_SASL_USERNAME: { domain: 'kafka', default: '—', meaning: 'SASL user (with `plain`/`scram-*`)' },
  KAFKA_SASL_PASSWORD: { domain: 'kafka', default: '—', meaning: 'SASL password, or a secret reference' },
  KAFKA_OAUTH_PROVIDER: {
    domain: 'kafka',
    default: 'from the broker host',
    meaning: '`oauthbearer` token source: `entra` (Event Hubs) or `google` (Managed Service for Apache Kafka)',
  },
  KAFKA_OAUTH_SCOPE: {
    domain: 'kafka',
    default: '`https://<host>/.default`',
    meaning: '`entra`: scope of the Kafka tokens, e.g. `https://NAMESPACE.servicebus.windows.net/.default`',
  },
  KAFKA_OAUTH_IDENTITY: {
    domain: 'kafka',
    default: '`app`',
    meaning:
      '`entra`: `app` (AZURE_CLIENT_ID/SECRET) or `managed` (the Function App’s managed identity; off Azure, your own sign-in: `G2K_AZURE_CREDENTIAL`)',
  },
  G2K_MAX_RECORD_BYTES: {
    domain: 'kafka',
    default: '`1000000`',
    meaning: 'largest record and produce request; larger items go out without their largest properties',
  },
  G2K_TOPIC: {
    domain: 'topics',
    default: '`graph.calendar.events`',
    meaning: 'topic for event records (create it; compaction optional)',
  },
  G2K_MESSAGES_TOPIC: { domain: 'topics', default: '`graph.mail.messages`', meaning: 'topic for message records' },
  G2K_CONTACTS_TOPIC: { domain: 'topics', default: '`graph.contacts`', meaning: 'topic for contact records' },
  G2K_USERS_TOPIC: {
    domain: 'topics',
    default: '`graph.directory.users`',
    meaning: 'topic for directory user records',
  },
  G2K_GROUPS_TOPIC: {
    domain: 'topics',
    default: '`graph.directory.groups`',
    meaning: 'topic for directory group records',
  },
  G2K_CHANNEL_MESSAGES_TOPIC: {
    domain: 'topics',
    default: '`graph.teams.channel-messages`',
    meaning: 'topic for Teams channel message and reply records',
  },
  G2K_CHAT_MESSAGES_TOPIC: {
    domain: 'topics',
    default: '`graph.teams.chat-messages`',
    meaning: 'topic for Teams chat message records',
  },
  G2K_CHATS_TOPIC: {
    domain: 'topics',
    default: '`graph.teams.chats`',
    meaning: 'topic for Teams chat records',
  },
  G2K_TOPIC_TEMPLATE: {
    domain: 'topics',
    default: 'none (the topics above)',
    meaning:
      'one topic per kind and tenant instead: a name with `{kind}` (`events`, `messages`, `contacts`, `users`, `groups`, `lifecycle`, `deadletter`) and `{tenant}` (the tenant GUID), e.g. `graph.{tenant}.{kind}`; replaces every topic setting above ([ACLs](docs/kafka-targets.md#per-tenant-topics))',
  },
  G2K_VALUE_FORMAT: {
    domain: 'topics',
    default: '`json`',
    meaning:
      'the change records’ value: `json` (graph2kafka’s record) or `debezium` (Debezium’s `{before, after, op, source, ts_ms}` envelope around it); keys, headers and tombstones are the same in both ([record format](docs/record-format.md#value-formats))',
  },
  G2K_CLOUDEVENTS: {
    domain: 'topics',
    default: '`binary`',
    meaning:
      '`binary`: CloudEvents attributes as `ce_*` headers on every record (Kafka binding, binary mode; Event Grid’s Graph types); `off`: none',
  },
  G2K_LIFECYCLE_TOPIC: {
    domain: 'topics',
    default: '`graph.subscription.lifecycle`',
    meaning: 'topic for verified lifecycle notifications',
  },
  G2K_DEAD_LETTER_TOPIC: {
    domain: 'topics',
    default: '`graph.calendar.deadletter`',
    meaning: 'topic for changes Kafka refused even reduced, with the notification to replay them (create it)',
  },
  G2K_DEAD_LETTER_KEY: {
    domain: 'topics',
    default: 'none (letters unsigned)',
    meaning:
      'signs each dead letter (HMAC-SHA256), so a replay refuses letters graph2kafka did not write: at least 32 characters (`openssl rand -base64 32`), or a secret reference; the functions and the ops CLI need the same key',
  },
  G2K_DEAD_LETTER_PREVIOUS_KEY: {
    domain: 'topics',
    default: 'none',
    meaning: 'during a key rotation: the key letters were signed with before, still accepted by a replay',
  },
  G2K_ALLOWED_TENANTS: {
    domain: 'receive',
    default: 'the desired state’s tenants',
    meaning:
      'comma-separated tenant GUIDs whose notifications are accepted (default: AZURE_TENANT_ID and every tenant the desired state names)',
  },
  G2K_RICH_CERTIFICATE_ID: {
    domain: 'receive',
    default: 'none (rich mode off)',
    meaning:
      'rich notifications: the current encryption certificate’s id (`encryptionCertificateId`; `graph2kafka cert create` makes one)',
  },
  G2K_RICH_CERTIFICATE: {
    domain: 'receive',
    default: 'with `G2K_RICH_CERTIFICATE_ID`',
    meaning: 'the current certificate, base64 DER or PEM (public: Graph encrypts to it)',
  },
  G2K_RICH_PRIVATE_KEY: {
    domain: 'receive',
    default: 'with `G2K_RICH_CERTIFICATE_ID`',
    meaning: 'its private key (PEM), as a secret reference: a Key Vault reference (Azure) or `sm:…` (GCP)',
  },
  G2K_RICH_PREVIOUS_CERTIFICATE_ID: {
    domain: 'receive',
    default: 'none',
    meaning: 'during a rotation: the certificate subscriptions used before, still accepted until none uses it',
  },
  G2K_RICH_PREVIOUS_PRIVATE_KEY: {
    domain: 'receive',
    default: 'with `G2K_RICH_PREVIOUS_CERTIFICATE_ID`',
    meaning: 'its private key, as a secret reference',
  },
  G2K_RICH_JWKS_URL: {
    domain: 'receive',
    default: '`https://login.microsoftonline.com/common/discovery/v2.0/keys`',
    meaning:
      'where the `validationTokens` signing keys are published (graph-sim: `{authority}/common/discovery/v2.0/keys`)',
  },
  G2K_TIME_BUDGET_MS: {
    domain: 'receive',
    default: '`2000`',
    meaning: 'enrichment budget from arrival (100–2800); the rest of Graph’s 3 s is Kafka’s',
  },
  G2K_MAX_BODY_BYTES: {
    domain: 'receive',
    default: '`1048576`',
    meaning: 'larger notification POSTs get `413`, refused before they are read',
  },
  G2K_INFLIGHT_BYTES_MAX: {
    domain: 'receive',
    default: 'half the V8 heap limit',
    meaning:
      'heap bytes the notification POSTs in flight on an instance may hold, received and parsed (16 MiB–16 GiB, at least 16× `G2K_MAX_BODY_BYTES`); see below the table',
  },
  G2K_REPAIR_QUEUE_MAX: {
    domain: 'receive',
    default: '`100000`',
    meaning:
      'unenriched changes the repair queue (in the state store) holds at most; once it is half full, one mailbox may hold a tenth of it',
  },
  G2K_STATE_STORE: {
    domain: 'state',
    default: 'required',
    meaning:
      'where subscription state lives: `file:<dir>`, `postgres`, `azure-table:<table endpoint URL>` or `azure-table-connection-string` ([docs](docs/state-stores.md))',
  },
  G2K_POSTGRES_URL: {
    domain: 'state',
    default: 'required with `postgres`',
    meaning: '`postgresql://USER:PASSWORD@/DB?host=/cloudsql/PROJECT:REGION:INSTANCE`, or a secret reference',
  },
  G2K_TABLE_CONNECTION_STRING: {
    domain: 'state',
    default: 'required with `azure-table-connection-string`',
    meaning: 'the storage connection string, or a secret reference',
  },
  G2K_TABLE_NAME: {
    domain: 'state',
    default: '`graph2kafka`',
    meaning: 'the Azure table that holds the state',
  },
  G2K_MANAGED_IDENTITY_CLIENT_ID: {
    domain: 'state',
    default: 'none (system-assigned)',
    meaning: 'user-assigned managed identity for Table Storage and Kafka `managed` tokens',
  },
  G2K_AZURE_CREDENTIAL: {
    domain: 'state',
    default: '`auto`',
    meaning:
      'identity for Table Storage, Event Hubs `managed` tokens and Key Vault references: `managed`, `developer` (your `az login`; [docs](docs/operations.md#reaching-production-state-from-your-machine)), or `auto`: `managed` on App Service/Functions',
  },
  G2K_OPERATOR_CLIENT_ID: {
    domain: 'state',
    default: 'none',
    meaning:
      '`developer`: client id of an operator’s workload identity (with `AZURE_FEDERATED_TOKEN_FILE`) or of an ops host’s user-assigned managed identity',
  },
  G2K_OPERATOR_TENANT_ID: {
    domain: 'state',
    default: '`AZURE_TENANT_ID`',
    meaning: '`developer`: the tenant of that workload identity, when it is not the Graph app’s',
  },
  G2K_CLOUDSQL_SOCKET_DIR: {
    domain: 'state',
    default: 'none',
    meaning:
      'a local Cloud SQL Auth Proxy’s `--unix-socket` folder: a `G2K_POSTGRES_URL` on `host=/cloudsql/INSTANCE` connects to `DIR/INSTANCE` instead, so the deployed URL works from a laptop',
  },
  G2K_NOTIFICATION_URL: {
    domain: 'subscriptions',
    default: 'none',
    meaning: 'the public URL of the notification function (turns the subscription manager on)',
  },
  G2K_LIFECYCLE_URL: {
    domain: 'subscriptions',
    default: 'required with it',
    meaning: 'the public URL of the lifecycle function',
  },
  G2K_SUBSCRIPTIONS_FILE: {
    domain: 'subscriptions',
    default: 'none',
    meaning:
      'the desired state: a JSON file of (tenant, kind, users/groups, folders, changeTypes, select) entries ([docs](docs/desired-state.md))',
  },
  G2K_SUBSCRIBE_USERS: {
    domain: 'subscriptions',
    default: 'none',
    meaning: 'shorthand: mailboxes of the home tenant to subscribe to, user object ids, comma-separated',
  },
  G2K_SUBSCRIBE_GROUPS: {
    domain: 'subscriptions',
    default: 'none',
    meaning:
      'shorthand: groups whose user members are subscribed to, object ids, comma-separated (needs `GroupMember.Read.All`)',
  },
  G2K_SUBSCRIBE_KINDS: {
    domain: 'subscriptions',
    default: '`events`',
    meaning: 'shorthand: the kinds subscribed for those mailboxes: `events`, `messages` and/or `contacts`',
  },
  G2K_CHANGE_TYPES: {
    domain: 'subscriptions',
    default: '`created,updated,deleted`',
    meaning: 'shorthand: change types to subscribe to',
  },
  G2K_SUBSCRIPTION_MINUTES: {
    domain: 'subscriptions',
    default: '`10000`',
    meaning: 'lifetime asked for each subscription, capped at each kind’s maximum (Outlook: 10080)',
  },
  G2K_RENEW_WITHIN_MINUTES: {
    domain: 'subscriptions',
    default: '`2880`',
    meaning: 'renew subscriptions that expire within this many minutes',
  },
  G2K_RESYNC_PAST_DAYS: {
    domain: 'subscriptions',
    default: '`30`',
    meaning: 'how far back an events resync reads (the calendar window)',
  },
  G2K_EXPAND_OCCURRENCES_DAYS: {
    domain: 'subscriptions',
    default: '`0` (off)',
    meaning:
      'for the `G2K_SUBSCRIBE_USERS`/`GROUPS` events: also produce each occurrence of a recurring series for this many days ahead (1–366; the file’s `expandOccurrences`)',
  },
  G2K_RESYNC_FUTURE_DAYS: {
    domain: 'subscriptions',
    default: '`365`',
    meaning: 'how far ahead an events resync reads (also the window of an events snapshot and sweep)',
  },
  G2K_SNAPSHOT: {
    domain: 'subscriptions',
    default: '`1`',
    meaning:
      '`1`: a newly subscribed target’s existing items are produced (`source: "snapshot"`) by the next timer runs; `0`: only changes from then on (a desired-state entry’s `snapshot` overrides it)',
  },
  G2K_SWEEP_HOURS: {
    domain: 'subscriptions',
    default: '`6`',
    meaning:
      'hours between the anti-entropy sweep’s delta rounds per target, which heal notifications Graph dropped without `missed` (0–168, `0` off; an entry’s `sweepHours` overrides it)',
  },
  G2K_SUBSCRIPTION_WRITES_PER_20S: {
    domain: 'subscriptions',
    default: '`500`',
    meaning: 'pace of subscription creates/renewals/deletes per tenant (Graph’s limit: 500)',
  },
  G2K_SUBSCRIPTION_WRITES_PER_20S_PER_APP: {
    domain: 'subscriptions',
    default: '`2000`',
    meaning:
      'pace of subscription writes across all tenants of the app (Graph’s limit: 2,000); lower it when other deployments share the app registration',
  },
  G2K_RENEWAL_SCHEDULE: {
    domain: 'subscriptions',
    default: 'set it, e.g. `0 */30 * * * *`',
    meaning: 'Azure: NCRONTAB of the renewal timer (read by the Functions host as `%G2K_RENEWAL_SCHEDULE%`)',
  },
  G2K_RENEWAL_AUDIENCE: {
    domain: 'subscriptions',
    default: 'none (the endpoint refuses all)',
    meaning: 'GCP: the audience of Cloud Scheduler’s OIDC token (the renewal function’s URL)',
  },
  G2K_RENEWAL_INVOKER: {
    domain: 'subscriptions',
    default: 'required with the audience',
    meaning: 'GCP: the only service account allowed to call the renewal endpoint',
  },
  G2K_OIDC_ISSUER: {
    domain: 'subscriptions',
    default: '`https://accounts.google.com`',
    meaning: 'GCP: issuer of the scheduler token',
  },
  G2K_OIDC_JWKS_URL: {
    domain: 'subscriptions',
    default: 'Google’s',
    meaning: 'GCP: keys that sign the scheduler token',
  },
  G2K_METRICS_EXPORTER: {
    domain: 'operations',
    default: '`none`',
    meaning:
      'where OpenTelemetry metrics go: `azure-monitor` (Azure; needs `APPLICATIONINSIGHTS_CONNECTION_STRING`), `google-cloud` (GCP: Cloud Monitoring through Google’s OTLP endpoint), `console` (one log line per export), `none`',
  },
  G2K_METRICS_INTERVAL_MS: {
    domain: 'operations',
    default: '`60000`',
    meaning: 'how often metrics are exported, in the background (5000–600000)',
  },
  APPLICATIONINSIGHTS_CONNECTION_STRING: {
    domain: 'operations',
    default: 'none',
    meaning: 'Azure: the Application Insights resource metrics go to (set by the deploy); may be a Key Vault reference',
  },
  G2K_GCP_PROJECT: {
    domain: 'operations',
    default: 'the runtime’s project',
    meaning: 'GCP: the project Cloud Monitoring metrics are written to (set by the deploy)',
  },
  OTEL_RESOURCE_ATTRIBUTES: {
    domain: 'operations',
    default: 'none',
    meaning:
      'OpenTelemetry’s resource attributes of the exported metrics, `k=v,…` (GCP: the deploy sets `cloud.region`, which Cloud Monitoring requires)',
  },
  G2K_HEALTH_WINDOW_SECONDS: {
    domain: 'operations',
    default: '`60`',
    meaning:
      'each instance writes a summary of its answers to the state store at most this often, for `graph2kafka status` (10–3600)',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

export const SETTING_DOMAINS: readonly SettingDomain[] = [
  'graph',
  'kafka',
  'topics',
  'receive',
  'state',
  'subscriptions',
  'operations',
];

/** The README's table of one domain, as `pnpm docs:settings` writes it. */
export function settingsTable(domain: SettingDomain): string {
  const rows = Object.entries(SETTINGS)
    .filter(([, spec]) => spec.domain === domain)
    .map(([name, spec]) => `| \`${name}\` | ${spec.default} | ${spec.meaning} |`);
  return ['| Setting | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
