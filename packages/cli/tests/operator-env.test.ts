import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  createAppFromEnv,
  PostgresSubscriptionStore,
  runRenewal,
  silentLogger,
  TableSubscriptionStore,
  type StatusReport,
  type SubscriptionStore,
} from '@graph2kafka/core';
import { GraphSim } from '@graph2kafka/graph-sim';
import {
  fakeAzureCli,
  freePort,
  pipelineEnv,
  serveApp,
  startAzuriteTable,
  startFakeKeyVault,
  startPostgres,
  type AzuriteTable,
  type FakeAzureCli,
  type FakeKeyVault,
} from '@graph2kafka/testkit';
import { CLI_RUN_MS } from './run-cli.ts';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(__dirname, '..', 'src', 'cli.ts');
const work = mkdtempSync(path.join(tmpdir(), 'g2k-operator-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * The runbook's first step as docs/operations.md writes it, on an operator's machine: the environment file
 * sourced by a shell, then `graph2kafka status`. Nothing of the test's own environment reaches it: only PATH
 * (node, and the fake cloud CLI), HOME and what the machine adds (`extra`).
 */
async function statusFromEnvFile(envFile: string, extra: Record<string, string>) {
  const command = `set -a; . '${envFile}'; set +a; exec node --conditions=@graph2kafka/source '${cli}' status --json`;
  try {
    const { stdout, stderr } = await run('bash', ['-c', command], {
      env: { PATH: process.env.PATH!, HOME: work, ...extra },
      timeout: CLI_RUN_MS,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The function's side: the receiver on a port (Graph handshakes it) and one timer run into `store`. */
async function deployFunction(sim: GraphSim, env: Record<string, string>, store: SubscriptionStore) {
  const app = await createAppFromEnv(env, [], { logger: silentLogger, store });
  const { close } = await serveApp(app, Number(new URL(env.G2K_NOTIFICATION_URL!).port));
  const report = await runRenewal(app);
  expect(report.errors).toEqual([]);
  expect(report.created).toHaveLength(1);
  await close();
  await app.close();
}

async function functionEnv(sim: GraphSim, user: number, extra: Record<string, string>) {
  const port = await freePort();
  return pipelineEnv(sim, {
    G2K_NOTIFICATION_URL: `http://127.0.0.1:${port}/notifications`,
    G2K_LIFECYCLE_URL: `http://127.0.0.1:${port}/lifecycle`,
    G2K_SUBSCRIBE_USERS: sim.defaults.users[user]!.id,
    ...extra,
  }).env;
}

describe("an operator's machine reaches production state with its own identity", () => {
  let sim: GraphSim;
  beforeAll(async () => {
    sim = await GraphSim.start({ delivery: { batchWindowMs: 20 } });
  });
  afterAll(() => sim.stop());

  describe('Azure: deploy.sh operator-env > ops.env, az login, graph2kafka status', () => {
    let azurite: AzuriteTable;
    let vault: FakeKeyVault;
    let az: FakeAzureCli;
    let trusted: string;
    beforeAll(async () => {
      azurite = await startAzuriteTable({ oauth: true });
      vault = await startFakeKeyVault({ 'azure-client-secret': sim.defaults.clientSecret }, sim.defaults.tenantId);
      az = fakeAzureCli(sim.defaults.tenantId);
      // The operator's machine trusts the emulators' certificates as it trusts Azure's.
      trusted = path.join(work, 'trusted.pem');
      writeFileSync(trusted, `${azurite.caPem}\n${vault.caPem}`);
    }, 60_000);
    afterAll(async () => {
      await azurite.stop();
      await vault.stop();
      az.remove();
    });

    it('writes an env file with no secret from the app settings, and status reads the table and vault as the operator', async () => {
      const table = `ops${Date.now()}`;
      const env = await functionEnv(sim, 0, {
        G2K_STATE_STORE: `azure-table:${azurite.tableUrl}`,
        G2K_TABLE_NAME: table,
      });
      // The function writes with its managed identity; here a token of the same shape stands in for it.
      const now = Math.floor(Date.now() / 1000);
      const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const managed: Parameters<typeof TableSubscriptionStore.fromUrl>[2] = {
        getToken: () =>
          Promise.resolve({
            token: `${part({ alg: 'none' })}.${part({ aud: 'https://storage.azure.com', iss: `https://sts.windows.net/${sim.defaults.tenantId}/`, iat: now, nbf: now, exp: now + 3600 })}.x`,
            expiresOnTimestamp: (now + 3600) * 1000,
          }),
      };
      await deployFunction(
        sim,
        env,
        TableSubscriptionStore.fromUrl(azurite.tableUrl, table, managed, { tlsOptions: { ca: azurite.caPem } }),
      );

      // What `az functionapp config appsettings list` shows for the app: its settings, the Graph secret as a
      // Key Vault reference, and the platform's own.
      az.setAppSettings([
        ...Object.entries(env).map(([name, value]) => ({ name, value })),
        {
          name: 'AZURE_CLIENT_SECRET',
          value: `@Microsoft.KeyVault(VaultName=${vault.name};SecretName=azure-client-secret)`,
        },
        { name: 'G2K_METRICS_EXPORTER', value: 'azure-monitor' },
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
          value: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
        },
        { name: 'AzureWebJobsStorage__accountName', value: 'contosog2kst' },
      ]);
      const written = await run(
        path.join(root, 'infra/azure/deploy.sh'),
        ['--config', path.join(root, 'infra/azure/deploy.env.example'), 'operator-env'],
        { env: { ...process.env, PATH: `${az.dir}:${process.env.PATH}` } },
      );
      expect(written.stdout).not.toContain(sim.defaults.clientSecret);
      const envFile = path.join(work, 'ops.env');
      writeFileSync(envFile, written.stdout);

      const machine = {
        PATH: `${az.dir}:${process.env.PATH}`,
        NODE_EXTRA_CA_CERTS: trusted,
        // Key Vault by its real name (the SDK checks the challenge against it): the proxy leads to the emulator.
        HTTPS_PROXY: vault.proxyUrl,
        NO_PROXY: '127.0.0.1,localhost',
      };
      const result = await statusFromEnvFile(envFile, machine);
      expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: expect.any(Number) });
      const report = JSON.parse(result.stdout) as StatusReport;
      expect(report.subscriptions.counts).toEqual([
        { tenantId: sim.defaults.tenantId, kind: 'events', state: 'active', count: 1 },
      ]);
      expect(report.timer.runs[0]).toMatchObject({ ok: true, created: 1 });
      expect(result.code).toBe(report.healthy ? 0 : 1);
      // As the operator: the Azure CLI's tokens for Storage and for Key Vault, the secret read from the vault.
      expect(az.calls()).toEqual(
        expect.arrayContaining([
          'account get-access-token --output json --resource https://storage.azure.com',
          expect.stringMatching(/^account get-access-token --output json --resource https:\/\/vault\.azure\.net/),
        ]),
      );
      expect(vault.seen).toEqual(['/secrets/azure-client-secret/ aud=https://vault.azure.net']);

      // Signed out: the same command says what to do, and reads nothing.
      az.signOut();
      const out = await statusFromEnvFile(envFile, machine);
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(
        /AZURE_CLIENT_SECRET: Key Vault secret .* could not be read \(no Azure credential: run `az login`/,
      );
    }, 120_000);
  });

  describe('GCP: the deployed /cloudsql URL through a local Cloud SQL Auth Proxy socket', () => {
    let postgres: Awaited<ReturnType<typeof startPostgres>>;
    beforeAll(async () => {
      postgres = await startPostgres();
    }, 60_000);
    afterAll(() => postgres.stop());

    it('status reads the state with G2K_CLOUDSQL_SOCKET_DIR naming the proxy folder', async () => {
      const instance = 'contoso-graph2kafka:europe-west1:g2k-state';
      const env = await functionEnv(sim, 1, { G2K_STATE_STORE: 'postgres', G2K_POSTGRES_URL: postgres.url });
      // The app closes the store it was given.
      await deployFunction(sim, env, new PostgresSubscriptionStore(postgres.url));
      // What `cloud-sql-proxy --unix-socket DIR INSTANCE` serves: DIR/INSTANCE/.s.PGSQL.5432.
      const proxyDir = path.join(work, 'cloudsql');
      mkdirSync(path.join(proxyDir, instance), { recursive: true });
      symlinkSync(
        path.join(postgres.socketDir, `.s.PGSQL.${postgres.port}`),
        path.join(proxyDir, instance, '.s.PGSQL.5432'),
      );
      const envFile = path.join(work, 'gcp-ops.env');
      const lines = Object.entries({
        ...env,
        // As the deployed secret holds it (the operator's file holds its sm: reference instead).
        G2K_POSTGRES_URL: `postgresql://g2k@/postgres?host=/cloudsql/${instance}`,
        G2K_CLOUDSQL_SOCKET_DIR: proxyDir,
      }).map(([k, v]) => `${k}='${v}'`);
      writeFileSync(envFile, `${lines.join('\n')}\n`);
      const result = await statusFromEnvFile(envFile, {});
      const report = JSON.parse(result.stdout) as StatusReport;
      expect(report.subscriptions.counts).toEqual([
        { tenantId: sim.defaults.tenantId, kind: 'events', state: 'active', count: 1 },
      ]);
      expect(result.code).toBe(report.healthy ? 0 : 1);
    }, 120_000);
  });
});
