import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';
import { fakeAzureCli } from '@graph2kafka/testkit';
import { shellcheckCommand } from '@graph2kafka/testkit/prerequisites';

const root = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);

/** Tools a deploy script may call; in a dry run each one must stay uncalled, so each stub logs and fails. */
const TOOLS = ['gcloud', 'az', 'func', 'terraform', 'pnpm', 'curl', 'git'];
const stubs = mkdtempSync(path.join(tmpdir(), 'g2k-deploy-stubs-'));
const calls = path.join(stubs, 'calls.log');
for (const tool of TOOLS.filter((t) => t !== 'git')) {
  writeFileSync(path.join(stubs, tool), `#!/bin/sh\necho "${tool} $*" >> '${calls}'\nexit 1\n`);
  chmodSync(path.join(stubs, tool), 0o755);
}

const configs = mkdtempSync(path.join(tmpdir(), 'g2k-deploy-config-'));
/** The scripts' TMPDIR: whatever they write there for a run must be gone when they exit. */
const scratch = mkdtempSync(path.join(tmpdir(), 'g2k-deploy-tmp-'));
const gcpConfig = path.join(configs, 'gcp.env');
writeFileSync(
  gcpConfig,
  readFileSync(path.join(root, 'infra/gcp/deploy.env.example'), 'utf8').replace(
    /^FUNCTION_ENV_FILE=.*$/m,
    'FUNCTION_ENV_FILE=infra/gcp/function-env.example.yaml',
  ),
);
const azureConfig = path.join(root, 'infra/azure/deploy.env.example');

/** The alert rules both clouds define (infra/azure/alerts.tf, infra/gcp/alerts/*.yaml). */
const ALERTS = [
  'subscription-expiring',
  'renewal-failing',
  'server-errors',
  'unenriched',
  'dead-letters',
  'endpoint-slow',
].sort();
/** The instruments core records: an alert on any other name would never fire. */
const METRIC_NAMES = [
  ...readFileSync(path.join(root, 'packages/core/src/metrics/metrics.ts'), 'utf8').matchAll(
    /create(?:Counter|Histogram|ObservableGauge)\(\s*'(g2k\.[a-z_.]+)'/g,
  ),
].map((m) => m[1]!);
/** The runbook's sections, as GitHub anchors them. */
const RUNBOOK_ANCHORS = [...readFileSync(path.join(root, 'docs/runbook.md'), 'utf8').matchAll(/^## (.+)$/gm)].map((m) =>
  m[1]!
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-'),
);
/** The GCP settings with another Node.js runtime chosen. */
function gcpConfigWithNode(version: string): string {
  const file = path.join(configs, `gcp-node${version}.env`);
  writeFileSync(file, readFileSync(gcpConfig, 'utf8').replace(/^NODE_VERSION=.*$/m, `NODE_VERSION=${version}`));
  return file;
}

function dryRun(script: 'gcp' | 'azure' | 'entra', args: string[], stdin = '', config?: string): string {
  const [file, options] =
    script === 'entra'
      ? ['infra/entra/register-app.sh', ['--dry-run']]
      : [
          `infra/${script}/deploy.sh`,
          ['--dry-run', '--config', config ?? (script === 'gcp' ? gcpConfig : azureConfig)],
        ];
  const result = spawnSync(path.join(root, file), [...options, ...args], {
    cwd: root,
    input: stdin,
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${stubs}:${process.env.PATH}`,
      TMPDIR: scratch,
      TFVARS: path.join(root, 'infra/azure/terraform.tfvars.example'),
    },
  });
  if (result.status !== 0)
    throw new Error(`deploy.sh ${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout}`);
  return `${result.stdout}${result.stderr}`;
}

const commandLines = (output: string) =>
  output
    .split('\n')
    .filter((l) => l.startsWith('+ '))
    .map((l) => l.slice(2));

/** What a dry run printed of the file a command reads (the `  | ` lines under it): the file itself is gone. */
function fileShown(output: string, command: string): string {
  const lines = output.split('\n');
  const at = lines.indexOf(`+ ${command}`);
  if (at < 0) throw new Error(`the dry run printed no command ${command}`);
  const end = lines.findIndex((l, i) => i > at && !l.startsWith('  |'));
  return lines
    .slice(at + 1, end < 0 ? undefined : end)
    .map((l) => l.replace(/^ {2}\| ?/, ''))
    .join('\n');
}

describe('deploy scripts', () => {
  afterEach(() => {
    // Nothing may have run for real, and nothing written for the run may outlive it (the functions' settings).
    expect(existsSync(calls) ? readFileSync(calls, 'utf8') : '').toBe('');
    const left = readdirSync(scratch);
    // Cleared here so that only the run that left them fails.
    for (const name of left) rmSync(path.join(scratch, name), { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it('pass shellcheck (with the scripts they source)', async () => {
    const scripts = ['.ci/run', 'infra/gcp/deploy.sh', 'infra/azure/deploy.sh', 'infra/entra/register-app.sh'];
    const shellcheck = shellcheckCommand();
    const which = spawnSync(shellcheck, ['--version']);
    if (which.error)
      throw new Error('shellcheck is not installed: apt-get install shellcheck (.ci/run installs it in CI)');
    const { stdout } = await run(shellcheck, ['-x', ...scripts], { cwd: root }).catch((err: { stdout: string }) => ({
      stdout: err.stdout,
    }));
    expect(stdout).toBe('');
  });

  it('GCP: the Node.js runtime is 24 unless NODE_VERSION chooses 22; anything else is refused before any call', () => {
    const runtimes = (config?: string) =>
      commandLines(dryRun('gcp', ['deploy'], '', config))
        .filter((l) => l.startsWith('gcloud run deploy'))
        .map((l) => /--base-image=(\S+)/.exec(l)?.[1]);
    expect(runtimes()).toEqual(['nodejs24', 'nodejs24', 'nodejs24']);
    expect(runtimes(gcpConfigWithNode('22'))).toEqual(['nodejs22', 'nodejs22', 'nodejs22']);
    expect(() => dryRun('gcp', ['deploy'], '', gcpConfigWithNode('20'))).toThrow(
      /exited 2: NODE_VERSION must be 22 or 24 \(the Node\.js runtimes graph2kafka supports\), got '20'/,
    );
  });

  it('GCP: deploys three Node 24 Cloud Run functions with gcloud run deploy --function, only the renewal one private, called by the scheduler with OIDC', () => {
    const output = dryRun('gcp', ['deploy']);
    const lines = commandLines(output);
    expect(lines[0]).toBe(`pnpm --dir ${root} build gcp`);
    const deploys = lines.filter((l) => l.startsWith('gcloud run deploy'));
    expect(deploys.map((l) => l.split(' ')[3])).toEqual(['g2k-notifications', 'g2k-lifecycle', 'g2k-renewal']);
    for (const l of deploys) {
      expect(l).toContain('--base-image=nodejs24');
      expect(l).toContain(`--source=${root}/packages/gcp-fn/bundle`);
      expect(l).toContain('--set-secrets=AZURE_CLIENT_SECRET=g2k-azure-client-secret:latest');
      expect(l).toContain('--add-cloudsql-instances=contoso-graph2kafka:europe-west1:g2k-state');
    }
    expect(deploys.map((l) => /--function=(\S+)/.exec(l)?.[1])).toEqual([
      'graphNotifications',
      'graphLifecycle',
      'subscriptionRenewal',
    ]);
    expect(deploys.map((l) => /--(no-)?allow-unauthenticated/.exec(l)?.[0])).toEqual([
      '--allow-unauthenticated',
      '--allow-unauthenticated',
      '--no-allow-unauthenticated',
    ]);
    // The heap is sized for the instance, and the published benchmark measured the function with those options.
    const { functionNodeOptions } = JSON.parse(readFileSync(path.join(root, 'docs/benchmarks.json'), 'utf8')) as {
      functionNodeOptions: string;
    };
    expect(deploys.every((l) => l.includes('--memory=512Mi'))).toBe(true);
    for (const l of deploys) expect(fileShown(output, l)).toContain(`NODE_OPTIONS: "${functionNodeOptions}"`);
    // Cloud Run's deterministic addresses, known before the first deploy.
    const renewalUrl = 'https://g2k-renewal-123456789012.europe-west1.run.app';
    const renewalEnv = fileShown(output, deploys[2]!);
    expect(renewalEnv).toContain(`G2K_RENEWAL_AUDIENCE: "${renewalUrl}"`);
    expect(renewalEnv).toContain('G2K_RENEWAL_INVOKER: "g2k-scheduler@contoso-graph2kafka.iam.gserviceaccount.com"');
    expect(renewalEnv).toContain('G2K_NOTIFICATION_URL: "https://g2k-notifications-123456789012.europe-west1.run.app"');
    expect(renewalEnv).toContain('KAFKA_BROKERS:');
    // Metrics to Cloud Monitoring, filed under the project and region.
    for (const l of deploys) {
      const env = fileShown(output, l);
      expect(env).toContain('G2K_METRICS_EXPORTER: "google-cloud"');
      expect(env).toContain('G2K_GCP_PROJECT: "contoso-graph2kafka"');
      expect(env).toContain('OTEL_RESOURCE_ATTRIBUTES: "cloud.region=europe-west1"');
    }
    const job = lines.find((l) => l.startsWith('gcloud scheduler jobs create http g2k-renewal'))!;
    expect(job).toContain(`--oidc-token-audience=${renewalUrl}`);
    expect(job).toContain('--oidc-service-account-email=g2k-scheduler@contoso-graph2kafka.iam.gserviceaccount.com');
    expect(lines).toContain(
      'gcloud run services add-iam-policy-binding g2k-renewal --project=contoso-graph2kafka --region=europe-west1 --member=serviceAccount:g2k-scheduler@contoso-graph2kafka.iam.gserviceaccount.com --role=roles/run.invoker',
    );
  });

  it('GCP: DEPLOY_WITH=functions keeps the gcloud functions deploy --gen2 path (Google still documents it)', () => {
    const file = path.join(configs, 'gcp-functions.env');
    writeFileSync(file, readFileSync(gcpConfig, 'utf8').replace(/^DEPLOY_WITH=.*$/m, 'DEPLOY_WITH=functions'));
    const lines = commandLines(dryRun('gcp', ['deploy'], '', file));
    const deploys = lines.filter((l) => l.startsWith('gcloud functions deploy'));
    expect(deploys.map((l) => l.split(' ')[3])).toEqual(['g2k-notifications', 'g2k-lifecycle', 'g2k-renewal']);
    expect(deploys.every((l) => l.includes('--gen2 --runtime=nodejs24'))).toBe(true);
    expect(lines.some((l) => l.startsWith('gcloud run deploy'))).toBe(false);
    const job = lines.find((l) => l.startsWith('gcloud scheduler jobs create http g2k-renewal'))!;
    expect(job).toContain('--uri=https://europe-west1-contoso-graph2kafka.cloudfunctions.net/g2k-renewal');
    expect(lines).toContain(
      'gcloud functions add-invoker-policy-binding g2k-renewal --project=contoso-graph2kafka --region=europe-west1 --member=serviceAccount:g2k-scheduler@contoso-graph2kafka.iam.gserviceaccount.com',
    );
    writeFileSync(file, readFileSync(gcpConfig, 'utf8').replace(/^DEPLOY_WITH=.*$/m, 'DEPLOY_WITH=kubernetes'));
    expect(() => dryRun('gcp', ['deploy'], '', file)).toThrow(/exited 2: DEPLOY_WITH must be run or functions/);
  });

  it('GCP: alerts creates one Cloud Monitoring policy per rule, each with its PromQL condition and runbook link', () => {
    const output = dryRun('gcp', ['alerts']);
    const creates = commandLines(output).filter((l) => l.startsWith('gcloud monitoring policies create'));
    expect(creates).toHaveLength(ALERTS.length);
    for (const l of creates) {
      expect(l).toContain('--notification-channels=projects/contoso-graph2kafka/notificationChannels/1234567890');
      const policy = parseYaml(fileShown(output, l)) as {
        displayName: string;
        documentation: { content: string; links: Array<{ url: string }> };
        conditions: Array<{ conditionPrometheusQueryLanguage: { query: string } }>;
      };
      const rule = policy.displayName.replace(/^graph2kafka /, '');
      expect(ALERTS).toContain(rule);
      const link = policy.documentation.links[0]!.url;
      expect(link).toMatch(/^https:\/\/github\.com\/contoso\/graph2kafka\/blob\/main\/docs\/runbook\.md#[a-z0-9-]+$/);
      expect(RUNBOOK_ANCHORS).toContain(link.split('#')[1]);
      expect(policy.documentation.content).toContain(link);
      const query = policy.conditions[0]!.conditionPrometheusQueryLanguage.query;
      const names = [...query.matchAll(/"(g2k\.[a-z_.]+)"/g)].map((m) => m[1]!);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((n) => !METRIC_NAMES.includes(n))).toEqual([]);
    }
    const file = path.join(configs, 'gcp-no-runbook.env');
    writeFileSync(file, readFileSync(gcpConfig, 'utf8').replace(/^RUNBOOK_URL=.*$/m, ''));
    expect(() => dryRun('gcp', ['alerts'], '', file)).toThrow(/exited 2: Set RUNBOOK_URL/);
  });

  it('GCP: bootstrap makes the accounts and secrets and grants only the runtime account and the operators access', () => {
    const lines = commandLines(dryRun('gcp', ['bootstrap']));
    // The operators of OPERATORS read every secret, the functions' settings, and reach Cloud SQL through the proxy.
    const operator = 'group:g2k-oncall@contoso.com';
    expect(lines.filter((l) => l.includes(`--member=${operator}`)).map((l) => /--role=(\S+)/.exec(l)?.[1])).toEqual([
      'roles/managedkafka.client',
      'roles/run.viewer',
      'roles/cloudsql.client',
      'roles/cloudsql.instanceUser',
      'roles/secretmanager.secretAccessor',
      'roles/secretmanager.secretAccessor',
      'roles/secretmanager.secretAccessor',
    ]);
    const withoutOperators = path.join(configs, 'gcp-no-operators.env');
    writeFileSync(withoutOperators, readFileSync(gcpConfig, 'utf8').replace(/^OPERATORS=.*$/m, ''));
    expect(
      commandLines(dryRun('gcp', ['bootstrap'], '', withoutOperators)).filter((l) => l.includes('group:')),
    ).toEqual([]);
    expect(lines.filter((l) => l.startsWith('gcloud secrets create')).map((l) => l.split(' ')[3])).toEqual([
      'g2k-azure-client-secret',
      'g2k-kafka-password',
      'g2k-postgres-url',
    ]);
    expect(
      lines
        .filter((l) => l.includes('roles/secretmanager.secretAccessor'))
        .every((l) => l.includes('g2k-runtime@') || l.includes(`--member=${operator}`)),
    ).toBe(true);
    expect(lines.some((l) => l.includes('--role=roles/cloudsql.client'))).toBe(true);
    expect(lines.some((l) => l.includes('--role=roles/managedkafka.client'))).toBe(true);
  });

  it('Azure: infra by terraform, publish by func from a kept release, secrets from standard input', () => {
    expect(commandLines(dryRun('azure', ['infra']))).toEqual([
      `terraform -chdir=${root}/infra/azure init -input=false`,
      `terraform -chdir=${root}/infra/azure apply -input=false -var-file=${root}/infra/azure/terraform.tfvars.example`,
    ]);
    const publish = commandLines(dryRun('azure', ['publish']));
    expect(publish[0]).toBe(`pnpm --dir ${root} build azure`);
    expect(publish.at(-1)).toBe('func azure functionapp publish contosog2k-fn --javascript --build remote');
    expect(commandLines(dryRun('azure', ['secret', 'azure-client-secret'], 'value'))[0]).toBe(
      'az keyvault secret set --vault-name contosog2k-kv --name azure-client-secret --file /dev/stdin --encoding utf-8 --output none',
    );
    const subscribe = dryRun('azure', ['subscribe']);
    expect(subscribe).toContain('https://contosog2k-fn.azurewebsites.net/admin/functions/subscriptionRenewal');
    expect(subscribe).toContain('<master key>');
  });

  it('refuse to run without settings, saying which file to create', () => {
    const result = spawnSync(
      path.join(root, 'infra/gcp/deploy.sh'),
      ['--config', '/nonexistent/deploy.env', 'deploy'],
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('copy infra/gcp/deploy.env.example there and fill it in');
  });
});

/** Runs a deploy script for real, with fake cloud CLIs first on PATH. */
function runScript(script: 'gcp' | 'azure', args: string[], fakes: string) {
  return spawnSync(
    path.join(root, `infra/${script}/deploy.sh`),
    ['--config', script === 'gcp' ? gcpConfig : azureConfig, ...args],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${fakes}:${stubs}:${process.env.PATH}`, TMPDIR: scratch },
    },
  );
}

/** What a shell that sources the file, and Node's --env-file, each read from it: they must agree. */
function readEnvFile(text: string): { shell: Record<string, string>; node: Record<string, string> } {
  const file = path.join(configs, 'ops.env');
  writeFileSync(file, text);
  const dump = `const o = {}; for (const [k, v] of Object.entries(process.env)) if (/^(G2K_|KAFKA_|AZURE_|GRAPH_)/.test(k)) o[k] = v; console.log(JSON.stringify(o));`;
  const clean = { PATH: process.env.PATH! };
  const shell = spawnSync('bash', ['-c', `set -a; . '${file}'; set +a; node -e '${dump}'`], {
    encoding: 'utf8',
    env: clean,
  });
  const node = spawnSync(process.execPath, [`--env-file=${file}`, '-e', dump], { encoding: 'utf8', env: clean });
  if (shell.status !== 0 || node.status !== 0) throw new Error(`${shell.stderr}${node.stderr}`);
  return {
    shell: JSON.parse(shell.stdout) as Record<string, string>,
    node: JSON.parse(node.stdout) as Record<string, string>,
  };
}

describe('register-app.sh: the Graph permission of each kind', () => {
  it('Teams kinds ask for ChannelMessage.Read.All, Chat.Read.All and Chat.ReadBasic.All as application roles', () => {
    const out = dryRun('entra', ['--kinds', 'channelMessages,chatMessages,chats', 'graph2kafka']);
    const add = commandLines(out).find((l) => l.startsWith('az ad app permission add'))!;
    expect(add).toContain('7b2449af-6ccd-4f4d-9f78-e550c193f0d1=Role'); // ChannelMessage.Read.All
    expect(add).toContain('6b7d71aa-70aa-4810-a8d9-5d9fb2830017=Role'); // Chat.Read.All
    expect(add).toContain('b2e060da-3baf-4687-9611-f4ebc0f0cbde=Role'); // Chat.ReadBasic.All
    expect(add).not.toContain('798ee544-9d2d-430c-a058-570e29e34338'); // Calendars.Read: events not asked for
  });

  it('an unknown kind is refused with the list of kinds, before any call', () => {
    expect(() => dryRun('entra', ['--kinds', 'teams', 'graph2kafka'])).toThrow(
      /unknown kind 'teams' in --kinds: use events, messages, contacts, users, groups, channelMessages, chatMessages and\/or chats/,
    );
  });
});

describe('operator-env: an operator environment file from the deployed settings, with no secret in it', () => {
  const KV_SECRET = '@Microsoft.KeyVault(VaultName=contosog2k-kv;SecretName=azure-client-secret)';

  it('Azure: graph2kafka settings from the app settings, Key Vault references kept, the operator sign-in chosen', () => {
    const az = fakeAzureCli();
    try {
      az.setAppSettings([
        { name: 'AzureWebJobsStorage__accountName', value: 'contosog2kst' },
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: 'InstrumentationKey=0000;IngestionEndpoint=https://x' },
        { name: 'AZURE_TENANT_ID', value: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71' },
        { name: 'AZURE_CLIENT_ID', value: 'b3a9d5c1-2e4f-4a6b-8c7d-9e0f1a2b3c4d' },
        { name: 'AZURE_CLIENT_SECRET', value: KV_SECRET },
        { name: 'G2K_STATE_STORE', value: 'azure-table:https://contosog2kst.table.core.windows.net/' },
        { name: 'G2K_MANAGED_IDENTITY_CLIENT_ID', value: '0d4e1c2b-0000-4000-8000-000000000001' },
        { name: 'G2K_METRICS_EXPORTER', value: 'azure-monitor' },
        { name: 'G2K_AZURE_CREDENTIAL', value: 'managed' },
        { name: 'G2K_RENEWAL_SCHEDULE', value: '0 */30 * * * *' },
        { name: 'KAFKA_BROKERS', value: 'contoso-events.servicebus.windows.net:9093' },
        // Against the docs' advice, a password as a plain setting: it must not reach the file.
        { name: 'KAFKA_SASL_PASSWORD', value: 'plain-kafka-password-value' },
        { name: 'G2K_TOPIC', value: 'graph.calendar.events' },
        { name: 'G2K_RICH_CERTIFICATE', value: "it's quoted" },
      ]);
      const result = runScript('azure', ['operator-env'], az.dir);
      expect({ status: result.status, stderr: result.stderr }).toMatchObject({ status: 0 });
      expect(az.calls()).toEqual([
        'functionapp config appsettings list --name contosog2k-fn --resource-group rg-graph2kafka --output json',
      ]);
      expect(result.stdout).not.toContain('plain-kafka-password-value');
      expect(result.stderr).toContain(
        'not written, set them yourself if the CLI needs them: G2K_RICH_CERTIFICATE, KAFKA_SASL_PASSWORD',
      );
      const { shell, node } = readEnvFile(result.stdout);
      expect(node).toEqual(shell);
      expect(shell).toEqual({
        AZURE_TENANT_ID: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
        AZURE_CLIENT_ID: 'b3a9d5c1-2e4f-4a6b-8c7d-9e0f1a2b3c4d',
        AZURE_CLIENT_SECRET: KV_SECRET,
        G2K_STATE_STORE: 'azure-table:https://contosog2kst.table.core.windows.net/',
        G2K_MANAGED_IDENTITY_CLIENT_ID: '0d4e1c2b-0000-4000-8000-000000000001',
        KAFKA_BROKERS: 'contoso-events.servicebus.windows.net:9093',
        G2K_TOPIC: 'graph.calendar.events',
        G2K_AZURE_CREDENTIAL: 'developer',
      });
    } finally {
      az.remove();
    }
  });

  it('GCP: the function settings, each mounted secret as an sm: reference, the Cloud SQL proxy named', () => {
    const fakes = mkdtempSync(path.join(tmpdir(), 'g2k-fake-gcloud-'));
    const log = path.join(fakes, 'calls.log');
    const service = {
      spec: {
        template: {
          spec: {
            containers: [
              {
                env: [
                  { name: 'NODE_OPTIONS', value: '--max-old-space-size=256' },
                  { name: 'AZURE_TENANT_ID', value: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71' },
                  { name: 'G2K_STATE_STORE', value: 'postgres' },
                  { name: 'G2K_METRICS_EXPORTER', value: 'google-cloud' },
                  { name: 'OTEL_RESOURCE_ATTRIBUTES', value: 'cloud.region=europe-west1' },
                  {
                    name: 'G2K_NOTIFICATION_URL',
                    value: 'https://g2k-notifications-123456789012.europe-west1.run.app',
                  },
                  {
                    name: 'AZURE_CLIENT_SECRET',
                    valueFrom: { secretKeyRef: { name: 'g2k-azure-client-secret', key: 'latest' } },
                  },
                  {
                    name: 'G2K_POSTGRES_URL',
                    valueFrom: { secretKeyRef: { name: 'projects/shared-secrets/secrets/g2k-postgres-url', key: '3' } },
                  },
                ],
              },
            ],
          },
        },
      },
    };
    writeFileSync(path.join(fakes, 'service.json'), JSON.stringify(service));
    writeFileSync(
      path.join(fakes, 'gcloud'),
      `#!/bin/sh\necho "$*" >> '${log}'\n[ "$1 $2 $3" = "run services describe" ] || exit 2\ncat '${fakes}/service.json'\n`,
    );
    chmodSync(path.join(fakes, 'gcloud'), 0o755);
    try {
      const result = runScript('gcp', ['operator-env'], fakes);
      expect({ status: result.status, stderr: result.stderr }).toMatchObject({ status: 0 });
      expect(readFileSync(log, 'utf8').trim()).toBe(
        'run services describe g2k-notifications --project=contoso-graph2kafka --region=europe-west1 --format=json',
      );
      const { shell, node } = readEnvFile(result.stdout);
      expect(node).toEqual(shell);
      expect(shell).toEqual({
        AZURE_TENANT_ID: '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71',
        AZURE_CLIENT_SECRET: 'sm:projects/contoso-graph2kafka/secrets/g2k-azure-client-secret/versions/latest',
        G2K_POSTGRES_URL: 'sm:projects/shared-secrets/secrets/g2k-postgres-url/versions/3',
        G2K_STATE_STORE: 'postgres',
        G2K_NOTIFICATION_URL: 'https://g2k-notifications-123456789012.europe-west1.run.app',
      });
      expect(result.stdout).toContain(
        '#   cloud-sql-proxy --unix-socket "$HOME/cloudsql" contoso-graph2kafka:europe-west1:g2k-state',
      );
    } finally {
      rmSync(fakes, { recursive: true, force: true });
    }
  });

  it('a dry run prints the one read it would make and nothing else', () => {
    expect(commandLines(dryRun('azure', ['operator-env']))).toEqual([
      'az functionapp config appsettings list --name contosog2k-fn --resource-group rg-graph2kafka --output json',
    ]);
    expect(commandLines(dryRun('gcp', ['operator-env']))).toEqual([
      'gcloud run services describe g2k-notifications --project=contoso-graph2kafka --region=europe-west1 --format=json',
    ]);
  });
});

describe('every deploy command in the docs comes from a script with a dry run', () => {
  const docs = ['docs/deploy-azure.md', 'docs/deploy-gcp.md', 'docs/runbook.md'];
  const shellLines = (file: string): string[] => {
    const text = readFileSync(path.join(root, file), 'utf8');
    const blocks = [...text.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].map((m) => m[1]!);
    return blocks
      .flatMap((b) => b.replace(/\\\n\s*/g, ' ').split('\n'))
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
  };

  it.each(docs)('%s', (file) => {
    const lines = shellLines(file);
    expect(lines.length).toBeGreaterThan(0);
    const printed: string[] = [];
    const steps = lines.flatMap((l) => l.split(/\s+\|\s+/)).filter((l) => /^infra\/(gcp|azure|entra)\//.test(l));
    for (const step of steps) {
      const [script, ...args] = step.replace(/\s*[<>].*$/, '').split(/\s+/);
      const kind = script!.includes('/gcp/') ? 'gcp' : script!.includes('/azure/') ? 'azure' : 'entra';
      printed.push(...commandLines(dryRun(kind, args, 'value')));
    }
    // A cloud command written in the docs must be one the scripts run (same program and sub-commands).
    const cloud = lines.filter((l) => /^(gcloud|az|func|terraform) /.test(l));
    for (const line of cloud) {
      const words = line
        .split(/\s+/)
        .filter((w) => !w.startsWith('-'))
        .slice(0, 4)
        .join(' ');
      const everyDryRun = [
        ...printed,
        ...commandLines(dryRun('gcp', ['bootstrap'])),
        ...commandLines(dryRun('gcp', ['deploy'])),
        ...commandLines(dryRun('azure', ['infra'])),
        ...commandLines(dryRun('azure', ['publish'])),
        ...commandLines(dryRun('entra', ['--groups', 'graph2kafka'])),
      ];
      expect({ line, inScripts: everyDryRun.some((p) => p.startsWith(words)) }).toEqual({ line, inScripts: true });
    }
  });
});

describe('Terraform (infra/azure), parsed by HashiCorp HCL', () => {
  const dir = path.join(root, 'infra/azure');
  const files = readdirSync(dir).filter((f) => f.endsWith('.tf') || f.endsWith('.tfvars.example'));
  /** The parts of the HCL-as-JSON that the assertions read. */
  interface Block {
    [attribute: string]: unknown;
    identity?: Array<{ type: string }>;
    app_settings?: string;
  }
  interface TerraformJson {
    resource: Record<string, Record<string, Block[]>>;
    locals: Array<{ kv_ref: string }>;
    variable: Record<string, Array<{ default?: unknown }>>;
  }
  const config = {} as TerraformJson;

  beforeAll(async () => {
    for (const f of files) {
      const parsed = (await parse(f, readFileSync(path.join(dir, f), 'utf8'))) as Record<string, object>;
      const merged = config as unknown as Record<string, object>;
      for (const [k, v] of Object.entries(parsed))
        merged[k] = Array.isArray(v)
          ? [...((merged[k] as unknown[] | undefined) ?? []), ...(v as unknown[])]
          : { ...(merged[k] ?? {}), ...v };
    }
  });

  it('every file parses', () => {
    expect(files.sort()).toEqual([
      'alerts.tf',
      'main.tf',
      'operators.tf',
      'outputs.tf',
      'terraform.tfvars.example',
      'variables.tf',
      'versions.tf',
    ]);
  });

  it('alert rules: one log-search rule per alert on Application Insights, each linking its runbook section', () => {
    const alerts = config.locals.find((l) => 'alerts' in l) as unknown as {
      alerts: Record<string, { runbook: string; query: string; summary: string }>;
    };
    expect(Object.keys(alerts.alerts).sort()).toEqual(ALERTS);
    for (const [name, rule] of Object.entries(alerts.alerts)) {
      expect({ name, anchor: RUNBOOK_ANCHORS.includes(rule.runbook) }).toEqual({ name, anchor: true });
      const names = [...rule.query.matchAll(/"(g2k\.[a-z_.]+)"/g)].map((m) => m[1]!);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((n) => !METRIC_NAMES.includes(n))).toEqual([]);
    }
    const rule = config.resource.azurerm_monitor_scheduled_query_rules_alert_v2!.g2k![0]!;
    expect(rule).toMatchObject({
      for_each: '${local.alerts}',
      scopes: ['${azurerm_application_insights.main.id}'],
      description: '${each.value.summary} Runbook: ${var.runbook_url}#${each.value.runbook}',
    });
    const app = config.resource.azurerm_function_app_flex_consumption!.main![0]!;
    expect(app.app_settings).toContain('G2K_METRICS_EXPORTER = "azure-monitor"');
  });

  it('a Flex Consumption Node 24 app (variable node_version: 22 or 24), https only, with a user-assigned identity for storage and Key Vault', () => {
    expect(config.resource.azurerm_service_plan?.main?.[0]).toMatchObject({ sku_name: 'FC1', os_type: 'Linux' });
    const app = config.resource.azurerm_function_app_flex_consumption!.main![0]!;
    expect(app).toMatchObject({
      runtime_name: 'node',
      runtime_version: '${var.node_version}',
      https_only: true,
      storage_authentication_type: 'UserAssignedIdentity',
      key_vault_reference_identity_id: '${azurerm_user_assigned_identity.fn.id}',
    });
    expect(app.identity?.[0]?.type).toBe('UserAssigned');
    expect(app.app_settings).toContain('G2K_MANAGED_IDENTITY_CLIENT_ID = azurerm_user_assigned_identity.fn.client_id');
    expect(app.app_settings).toMatch(/G2K_AZURE_CREDENTIAL\s*=\s*"managed"/);
    expect(app.app_settings).toContain('local.kv_ref');
    // The exporter's usage telemetry to Microsoft is off unless var.microsoft_sdk_telemetry (docs/operations.md).
    expect(app.app_settings).toContain('var.microsoft_sdk_telemetry ? {} : {');
    expect(app.app_settings).toContain('APPLICATION_INSIGHTS_NO_STATSBEAT      = "true"');
    const { kv_ref } = config.locals.find((l) => 'kv_ref' in l)!;
    expect(kv_ref).toContain('@Microsoft.KeyVault(VaultName=${azurerm_key_vault.main.name};SecretName=${secret})');
    expect(kv_ref).toContain('AZURE_CLIENT_SECRET = "azure-client-secret"');
    expect(config.resource.azurerm_key_vault?.main?.[0]?.enable_rbac_authorization).toBe(true);
    expect(config.resource.azurerm_storage_account?.main?.[0]?.shared_access_key_enabled).toBe(false);
  });

  it("operators get data roles on the state, the vault and (with Event Hubs) the namespace; the function's identity sends to Event Hubs", () => {
    const locals = Object.assign({}, ...(config.locals as unknown as object[])) as Record<string, string>;
    const roles = locals.operator_data_roles!;
    for (const [role, scope] of [
      ['Storage Table Data Contributor', 'azurerm_storage_account.main.id'],
      ['Key Vault Secrets User', 'azurerm_key_vault.main.id'],
      ['Azure Event Hubs Data Sender', 'var.event_hubs_namespace_id'],
      ['Azure Event Hubs Data Receiver', 'var.event_hubs_namespace_id'],
    ])
      expect(roles).toMatch(new RegExp(`scope\\s*=\\s*${scope!.replace(/\./g, '\\.')},\\s*role\\s*=\\s*"${role}"`));
    // Never a role that could change secrets or the app: the operator reads secrets and writes the state only.
    expect(roles).not.toMatch(/Officer|Owner|Administrator|Website Contributor/);
    expect(locals.operator_assignments).toContain('setproduct(var.operator_principal_ids, local.operator_data_roles)');
    expect(config.resource.azurerm_role_assignment!.operator![0]).toMatchObject({
      for_each: '${local.operator_assignments}',
      principal_id: '${each.value.principal}',
    });
    expect(config.resource.azurerm_role_assignment!.fn_event_hubs![0]).toMatchObject({
      role_definition_name: 'Azure Event Hubs Data Sender',
      principal_id: '${azurerm_user_assigned_identity.fn.principal_id}',
    });
    const outputs = (config as unknown as { output: Record<string, unknown> }).output;
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['state_store', 'key_vault_uri', 'operator_roles']));
  });

  it('every variable used is declared, and the example sets every variable without a default', () => {
    const text = files
      .filter((f) => f.endsWith('.tf'))
      .map((f) => readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    const used = new Set([...text.matchAll(/\bvar\.([a-z_]+)/g)].map((m) => m[1]!));
    const declared = config.variable;
    expect([...used].filter((v) => !declared[v])).toEqual([]);
    const example = readFileSync(path.join(dir, 'terraform.tfvars.example'), 'utf8');
    const required = Object.entries(declared)
      .filter(([, [v]]) => v && !('default' in v))
      .map(([k]) => k);
    expect(required.filter((v) => !new RegExp(`^${v}\\s*=`, 'm').test(example))).toEqual([]);
  });
});
