import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';

const root = path.resolve(__dirname, '..', '..');
const dir = path.join(root, 'infra/gcp/terraform');
const files = readdirSync(dir).filter((f) => f.endsWith('.tf') || f.endsWith('.tfvars.example'));
const text = (f: string) => readFileSync(path.join(dir, f), 'utf8');

type Block = Record<string, unknown>;
interface TerraformJson {
  resource: Record<string, Record<string, Block[]>>;
  locals: Block[];
  variable: Record<string, Array<{ default?: unknown }>>;
  output: Record<string, Array<{ value: string }>>;
}
const config = {} as TerraformJson;
const resource = (type: string, name: string): Block => {
  const block = config.resource[type]?.[name]?.[0];
  if (!block) throw new Error(`no resource ${type}.${name}`);
  return block;
};
const local = (name: string): unknown => config.locals.find((l) => name in l)?.[name];

beforeAll(async () => {
  for (const f of files) {
    const parsed = (await parse(f, text(f))) as Record<string, object>;
    const merged = config as unknown as Record<string, object>;
    for (const [k, v] of Object.entries(parsed)) {
      if (Array.isArray(v)) merged[k] = [...((merged[k] as unknown[] | undefined) ?? []), ...(v as unknown[])];
      else
        merged[k] = Object.fromEntries(
          [...Object.entries(merged[k] ?? {}), ...Object.entries(v)].map(([name, value]) => [
            name,
            typeof value === 'object' && !Array.isArray(value)
              ? { ...((merged[k] as Record<string, object> | undefined)?.[name] ?? {}), ...(value as object) }
              : value,
          ]),
        );
    }
  }
});

describe('Terraform for Google Cloud (infra/gcp/terraform), parsed by HashiCorp HCL', () => {
  it('every file parses', () => {
    expect(files.sort()).toEqual([
      'alerts.tf',
      'cloudsql.tf',
      'main.tf',
      'operators.tf',
      'outputs.tf',
      'terraform.tfvars.example',
      'variables.tf',
      'versions.tf',
    ]);
  });

  it('makes what deploy.sh bootstrap makes: the same APIs, both service accounts, the runtime roles, secrets read by the runtime only', () => {
    const script = readFileSync(path.join(root, 'infra/gcp/deploy.sh'), 'utf8');
    const enable = /gcloud services enable ([^-]+?)--project/s.exec(script)![1]!;
    const scriptApis = enable.split(/[\s\\]+/).filter((a) => a.endsWith('.googleapis.com'));
    const apis = local('apis') as string;
    expect(scriptApis.filter((api) => !apis.includes(`"${api}"`))).toEqual([]);
    expect(resource('google_service_account', 'runtime').account_id).toBe('${var.prefix}-runtime');
    expect(resource('google_service_account', 'scheduler').account_id).toBe('${var.prefix}-scheduler');
    const roles = local('runtime_roles') as string;
    for (const role of ['roles/telemetry.metricsWriter', 'roles/monitoring.metricWriter', 'roles/cloudsql.client'])
      expect(roles).toContain(role);
    expect(resource('google_secret_manager_secret_iam_member', 'runtime')).toMatchObject({
      role: 'roles/secretmanager.secretAccessor',
      member: '${google_service_account.runtime.member}',
    });
    // Values are set by `deploy.sh secret`, never by Terraform: no secret in the state.
    expect(Object.keys(config.resource).filter((t) => t.includes('secret_version'))).toEqual([]);
  });

  it('the renewal job calls the private renewal function with the scheduler account’s OIDC token, on deploy.env’s schedule', () => {
    const job = resource('google_cloud_scheduler_job', 'renewal') as {
      http_target: Array<{ uri: string; http_method: string; oidc_token: Array<Record<string, string>> }>;
    } & Block;
    expect(job).toMatchObject({ time_zone: 'Etc/UTC', attempt_deadline: '540s', schedule: '${var.renewal_schedule}' });
    const target = job.http_target[0]!;
    expect(target).toMatchObject({ uri: '${local.url.renewal}', http_method: 'POST' });
    expect(target.oidc_token[0]).toEqual({
      service_account_email: '${google_service_account.scheduler.email}',
      audience: '${local.url.renewal}',
    });
    expect(local('url')).toContain(
      'https://${var.prefix}-${fn}-${data.google_project.this.number}.${var.region}.run.app',
    );
    const example = readFileSync(path.join(root, 'infra/gcp/deploy.env.example'), 'utf8');
    const schedule = /^RENEWAL_SCHEDULE="(.+)"$/m.exec(example)![1];
    expect(config.variable.renewal_schedule![0]!.default).toBe(schedule);
  });

  it('one alert policy per file of infra/gcp/alerts, and every field the mapping reads is in every file', () => {
    const policy = resource('google_monitoring_alert_policy', 'g2k');
    expect(policy.for_each).toBe('${local.alerts}');
    expect(local('alert_files')).toBe('${fileset("${path.module}/../alerts", "*.yaml")}');
    const alertsTf = text('alerts.tf');
    const read = [...alertsTf.matchAll(/(?:each|conditions|links)\.value\.([A-Za-z.]+)/g)].map((m) => m[1]!);
    expect(read.length).toBeGreaterThan(8);
    const alertDir = path.join(root, 'infra/gcp/alerts');
    for (const file of readdirSync(alertDir)) {
      const alert = parseYaml(readFileSync(path.join(alertDir, file), 'utf8')) as Record<string, unknown>;
      const at = (obj: unknown, dotted: string) =>
        dotted.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
      const missing = [...alertsTf.matchAll(/each\.value\.([A-Za-z.]+)/g)]
        .map((m) => m[1]!)
        .filter((p) => !p.startsWith('documentation.links') && at(alert, p) === undefined);
      const condition = (alert.conditions as unknown[])[0];
      const conditionMissing = [...alertsTf.matchAll(/conditions\.value\.([A-Za-z.]+)/g)]
        .map((m) => m[1]!)
        .filter((p) => at(condition, p) === undefined);
      expect({ file, missing, conditionMissing }).toEqual({ file, missing: [], conditionMissing: [] });
      expect(JSON.stringify(alert)).toContain('RUNBOOK_URL#');
    }
  });

  it('Cloud SQL only when asked: IAM database login on, no authorized networks, TLS only, kept from a destroy', () => {
    const instance = resource('google_sql_database_instance', 'state') as Block & {
      settings: Array<{
        database_flags: Array<{ name: string; value: string }>;
        ip_configuration: Array<Record<string, unknown>>;
      }>;
    };
    expect(instance.count).toBe('${var.cloudsql == null ? 0 : 1}');
    expect(instance.deletion_protection).toBe(true);
    const settings = instance.settings[0]!;
    expect(settings.database_flags).toContainEqual({ name: 'cloudsql.iam_authentication', value: 'on' });
    expect(settings.ip_configuration[0]).toEqual({ ipv4_enabled: true, ssl_mode: 'ENCRYPTED_ONLY' });
    expect(resource('google_sql_user', 'operator').type).toBe('CLOUD_IAM_USER');
  });

  it('operators get their own read paths (secrets, Cloud SQL login, logs), nothing that deploys or writes settings', () => {
    const roles = local('operator_roles') as string;
    expect(roles).toContain('roles/cloudsql.instanceUser');
    expect(roles).not.toMatch(/admin|editor|owner|secretmanager\.admin|run\.developer/i);
    expect(resource('google_secret_manager_secret_iam_member', 'operator').role).toBe(
      'roles/secretmanager.secretAccessor',
    );
  });

  it('every variable used is declared, and the example sets every variable without a default', () => {
    const tf = files
      .filter((f) => f.endsWith('.tf'))
      .map(text)
      .join('\n');
    const used = new Set([...tf.matchAll(/\bvar\.([a-z_]+)/g)].map((m) => m[1]!));
    expect([...used].filter((v) => !config.variable[v])).toEqual([]);
    const example = text('terraform.tfvars.example');
    const required = Object.entries(config.variable)
      .filter(([, [v]]) => v && !('default' in v))
      .map(([k]) => k);
    expect(required.filter((v) => !new RegExp(`^${v}\\s*=`, 'm').test(example))).toEqual([]);
  });
});

describe('deploy.sh with the deploy.env Terraform writes', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'g2k-gcp-tf-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** The deploy_env output with Terraform's interpolations filled as `terraform output` would. */
  function deployEnv(): string {
    const template = config.output.deploy_env![0]!.value;
    const values: Record<string, string> = {
      'var.project_id': 'contoso-graph2kafka',
      'var.region': 'europe-west1',
      'data.google_project.this.number': '123456789012',
      'var.prefix': 'g2k',
      'var.runbook_url': 'https://example.com/runbook.md',
      'local.cloudsql_connection': 'contoso-graph2kafka:europe-west1:g2k-state',
    };
    const env = template
      .replace(/\$\{join\(.*\)\}/, 'AZURE_CLIENT_SECRET=g2k-azure-client-secret')
      .replace(/\$\{([a-z_.]+)\}/g, (all, name: string) => values[name] ?? all)
      .replace(/^\s+/gm, '');
    expect(env).not.toContain('${');
    const file = path.join(scratch, 'deploy.env');
    // The functions' own settings file is the operator's; the example stands in for it.
    writeFileSync(file, `${env}FUNCTION_ENV_FILE=infra/gcp/function-env.example.yaml\n`);
    return file;
  }

  function dryRun(args: string[]) {
    const stubs = path.join(scratch, 'bin');
    spawnSync('mkdir', ['-p', stubs]);
    for (const tool of ['gcloud', 'pnpm', 'curl']) {
      writeFileSync(path.join(stubs, tool), `#!/bin/sh\necho "${tool} $*" >&2\nexit 1\n`);
      chmodSync(path.join(stubs, tool), 0o755);
    }
    return spawnSync(path.join(root, 'infra/gcp/deploy.sh'), ['--dry-run', '--config', deployEnv(), ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${stubs}:${process.env.PATH}`, TMPDIR: scratch },
    });
  }

  it('deploys the three functions and the invoker grant, and leaves the scheduler job to Terraform', () => {
    const run = dryRun(['deploy']);
    expect(run.stderr).toContain('Deployed.');
    expect(run.status).toBe(0);
    const commands = run.stdout.split('\n').filter((l) => l.startsWith('+ '));
    expect(commands.filter((l) => l.startsWith('+ gcloud run deploy'))).toHaveLength(3);
    expect(commands.filter((l) => l.includes('run services add-iam-policy-binding g2k-renewal'))).toHaveLength(1);
    expect(commands.filter((l) => l.includes('scheduler jobs'))).toEqual([]);
  });

  it.each(['bootstrap', 'alerts'])('refuses %s, naming Terraform', (verb) => {
    const result = dryRun([verb]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('terraform apply in infra/gcp/terraform');
  });
});
