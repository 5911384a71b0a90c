// The operator's environment file, from a deployment's own settings (infra/azure/deploy.sh operator-env, and
// infra/gcp/deploy.sh operator-env): graph2kafka's settings only, every secret as a reference that graph2kafka
// reads at run time with the operator's own sign-in (Key Vault with `az login`, Secret Manager with
// `gcloud auth application-default login`), never its value. Plain JavaScript, so that it runs on whatever Node
// the operator has; no dependencies.
//
//   node infra/operator-env.mjs azure APP                 < az functionapp config appsettings list --output json
//   node infra/operator-env.mjs gcp SERVICE PROJECT [INSTANCE] < gcloud run services describe SERVICE --format=json
//
// The file is both a POSIX shell script of assignments (`set -a; . ./ops.env; set +a`) and a Node env file
// (`node --env-file=ops.env`): single-quoted values mean the same to both.
import { readFileSync } from 'node:fs';

/** What graph2kafka reads; the platform's own settings (host storage, runtime, telemetry keys) stay out. */
const OURS = /^(?:G2K_|KAFKA_|AZURE_(?:TENANT_ID|CLIENT_ID|CLIENT_SECRET|AUTHORITY_HOST)$|GRAPH_BASE_URL$)/;

/**
 * Settings of the functions that an operator's CLI must not take: their identity (the operator signs in as
 * themselves), where they send their metrics (the CLI would report into the production dashboards and alerts)
 * and who may call the renewal endpoint.
 */
const FUNCTION_ONLY = new Set([
  'G2K_AZURE_CREDENTIAL',
  'G2K_METRICS_EXPORTER',
  'G2K_METRICS_INTERVAL_MS',
  'G2K_RENEWAL_AUDIENCE',
  'G2K_RENEWAL_INVOKER',
  'G2K_RENEWAL_SCHEDULE',
]);

/** Settings that hold secrets: written only as references. */
const SECRETS = new Set([
  'AZURE_CLIENT_SECRET',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_SSL_CLIENT_KEY',
  'G2K_POSTGRES_URL',
  'G2K_TABLE_CONNECTION_STRING',
  'G2K_DEAD_LETTER_KEY',
  'G2K_DEAD_LETTER_PREVIOUS_KEY',
  'G2K_RICH_PRIVATE_KEY',
  'G2K_RICH_PREVIOUS_PRIVATE_KEY',
]);

/** A secret pasted into any other setting. */
const SECRET_LIKE = /AccountKey=|SharedAccessKey=|SharedAccessSignature=|[?&]sig=|-----BEGIN [A-Z ]*PRIVATE KEY/i;

const isReference = (value) => /^@Microsoft\.KeyVault\(/i.test(value) || /^sm:projects\//.test(value);

function fail(message) {
  process.stderr.write(`operator-env: ${message}\n`);
  process.exit(2);
}

/** [name, value] pairs from each platform's answer. */
function fromAzure(json) {
  if (!Array.isArray(json)) fail('expected the JSON list of `az functionapp config appsettings list`');
  return json.map((s) => [String(s.name), String(s.value ?? '')]);
}

function fromGcp(json, project) {
  const env = json?.spec?.template?.spec?.containers?.[0]?.env;
  if (!Array.isArray(env))
    fail('expected the JSON of `gcloud run services describe` (spec.template.spec.containers[0].env)');
  return env.map((e) => {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref) return [String(e.name), String(e.value ?? '')];
    // Cloud Run names a secret of its own project by name, another project's by its full resource name.
    const secret = String(ref.name).startsWith('projects/') ? ref.name : `projects/${project}/secrets/${ref.name}`;
    return [String(e.name), `sm:${secret}/versions/${ref.key || 'latest'}`];
  });
}

/** `'value'`, or undefined when a value cannot be quoted alike for a shell and for Node (a quote, a newline). */
function quoted(value) {
  return /['\n\r]/.test(value) ? undefined : `'${value}'`;
}

const [platform, name, project, instance] = process.argv.slice(2);
if (!['azure', 'gcp'].includes(platform) || !name || (platform === 'gcp' && !project))
  fail('usage: operator-env.mjs azure APP | operator-env.mjs gcp SERVICE PROJECT [INSTANCE]  (JSON on stdin)');
let json;
try {
  json = JSON.parse(readFileSync(0, 'utf8'));
} catch (err) {
  fail(`the settings are not JSON (${err.message})`);
}
const settings = (platform === 'azure' ? fromAzure(json) : fromGcp(json, project))
  .filter(([n]) => OURS.test(n) && !FUNCTION_ONLY.has(n))
  .sort(([a], [b]) => a.localeCompare(b));

const lines = [
  `# graph2kafka operator environment, from the settings of ${name} (${new Date().toISOString()}).`,
  '# No secret values: each secret is a reference, read when graph2kafka starts with your own sign-in',
  platform === 'azure'
    ? '# (az login; the roles: docs/operations.md, "Reaching production state from your machine").'
    : '# (gcloud auth application-default login; the roles: docs/operations.md).',
  '# Use: set -a; . ./ops.env; set +a; graph2kafka status     or: node --env-file=ops.env …',
];
const left = [];
for (const [n, value] of settings) {
  const plainSecret = (SECRETS.has(n) || SECRET_LIKE.test(value)) && !isReference(value);
  const text = plainSecret ? undefined : quoted(value);
  if (text === undefined) {
    left.push(n);
    lines.push(
      plainSecret
        ? `# ${n}: a plain secret in the deployed settings, not written here (keep it in ${platform === 'azure' ? 'Key Vault' : 'Secret Manager'}, or set it yourself)`
        : `# ${n}: spans lines or holds a quote, not written here (set it yourself)`,
    );
  } else lines.push(`${n}=${text}`);
}
if (platform === 'azure') {
  // Never the managed identity off the platform, whatever the machine: the operator's own sign-in.
  lines.push("G2K_AZURE_CREDENTIAL='developer'");
}
const postgres = settings.find(([n]) => n === 'G2K_POSTGRES_URL');
if (platform === 'gcp' && postgres) {
  lines.push(
    '# The state is in Cloud SQL: its /cloudsql socket exists only on Cloud Run. Start a Cloud SQL Auth Proxy',
    `#   cloud-sql-proxy --unix-socket "$HOME/cloudsql" ${instance || 'PROJECT:REGION:INSTANCE'}`,
    '# and name its folder here; or point G2K_POSTGRES_URL at the proxy yourself (docs/operations.md):',
    "# G2K_CLOUDSQL_SOCKET_DIR='/home/YOU/cloudsql'",
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
if (left.length)
  process.stderr.write(`operator-env: not written, set them yourself if the CLI needs them: ${left.join(', ')}\n`);
