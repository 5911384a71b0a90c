import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  createAppFromEnv,
  PostgresDocumentStore,
  runRenewal,
  silentLogger,
  TableDocumentStore,
  type DocumentStore,
  type StatusReport,
} from '@graph2kafka/core';
import { serveApp } from '@graph2kafka/core/http';
import { GraphSim } from '@graph2kafka/graph-sim';
import {
  fakeAzureCli,
  freePort,
  pipelineEnv,
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
 * The shell blocks of docs/operations.md's "Reaching production state from your machine" for one cloud, each
 * line as written.
 */
function docsBlocks(cloud: 'Azure' | 'Google Cloud'): string[] {
  const text = readFileSync(path.join(root, 'docs/operations.md'), 'utf8');
  const section = text.split('\n## Reaching production state from your machine\n')[1]!.split('\n## ')[0]!;
  const part = section.split(`\n### ${cloud}\n`)[1]!.split('\n### ')[0]!;
  return [...part.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join('\n'),
  );
}

/**
 * Runs commands of the docs in a shell on an operator's machine: the folder `work` (where ops.env is), and
 * nothing of the test's own environment but PATH (node, the fake cloud tools first), HOME and what the machine
 * adds (`extra`). The CLI runs from its sources rather than through `pnpm graph2kafka`, which needs the clone as
 * the working folder, and prints JSON to be checked.
 */
async function onOperatorMachine(script: string, extra: Record<string, string>) {
  const command = script.replaceAll(
    'pnpm graph2kafka status',
    `node --conditions=@graph2kafka/source '${cli}' status --json`,
  );
  try {
    const { stdout, stderr } = await run('bash', ['-euc', command], {
      cwd: work,
      env: { PATH: process.env.PATH!, HOME: work, ...extra },
      timeout: CLI_RUN_MS,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The report `status --json` printed after whatever the commands before it printed (`az login`'s accounts). */
function statusReport(result: { stdout: string; stderr: string }): StatusReport {
  const at = result.stdout.indexOf('{');
  if (at < 0) throw new Error(`status printed no report; its stderr: ${result.stderr}`);
  return JSON.parse(result.stdout.slice(at)) as StatusReport;
}

/** The function's side: the receiver on a port (Graph handshakes it) and one timer run into `documents`. */
async function deployFunction(sim: GraphSim, env: Record<string, string>, documents: DocumentStore) {
  const app = await createAppFromEnv(env, [], { logger: silentLogger, documents });
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
      const managed: Parameters<typeof TableDocumentStore.fromUrl>[2] = {
        getToken: () =>
          Promise.resolve({
            token: `${part({ alg: 'none' })}.${part({ aud: 'https://storage.azure.com', iss: `https://sts.windows.net/${sim.defaults.tenantId}/`, iat: now, nbf: now, exp: now + 3600 })}.x`,
            expiresOnTimestamp: (now + 3600) * 1000,
          }),
      };
      await deployFunction(
        sim,
        env,
        TableDocumentStore.fromUrl(azurite.tableUrl, table, managed, { tlsOptions: { ca: azurite.caPem } }),
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
      const machine = {
        PATH: `${az.dir}:${process.env.PATH}`,
        NODE_EXTRA_CA_CERTS: trusted,
        // Key Vault by its real name (the SDK checks the challenge against it): the proxy leads to the emulator.
        HTTPS_PROXY: vault.proxyUrl,
        NO_PROXY: '127.0.0.1,localhost',
      };
      // The operator has not signed in yet: writing the file needs no token.
      az.signOut();
      const [write, signInAndRun] = docsBlocks('Azure');
      expect(write).toBe('infra/azure/deploy.sh operator-env > ops.env');
      const written = await onOperatorMachine(
        write!.replace(
          'infra/azure/deploy.sh',
          `'${root}/infra/azure/deploy.sh' --config '${root}/infra/azure/deploy.env.example'`,
        ),
        machine,
      );
      expect({ code: written.code, stderr: written.stderr }).toMatchObject({ code: 0 });
      const envFile = path.join(work, 'ops.env');
      expect(readFileSync(envFile, 'utf8')).not.toContain(sim.defaults.clientSecret);

      expect(signInAndRun).toContain('az login');
      const result = await onOperatorMachine(signInAndRun!, machine);
      const report = statusReport(result);
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
      const out = await onOperatorMachine(signInAndRun!.replace('az login\n', ''), machine);
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
      const env = await functionEnv(sim, 1, { G2K_STATE_STORE: 'postgres', G2K_POSTGRES_URL: postgres.url });
      // The app closes the store it was given.
      await deployFunction(sim, env, new PostgresDocumentStore(postgres.url));
      // The docs' tools, faked: gcloud signs in; the Auth Proxy makes DIR/INSTANCE/.s.PGSQL.5432 (a link to the
      // real server's socket) and, unlike the real one, exits once it is there.
      const tools = path.join(work, 'gcp-tools');
      const socket = path.join(postgres.socketDir, `.s.PGSQL.${postgres.port}`);
      const fake = (name: string, body: string) => {
        writeFileSync(path.join(tools, name), `#!/bin/sh\n${body}\n`);
        chmodSync(path.join(tools, name), 0o755);
      };
      mkdirSync(tools);
      fake('gcloud', '[ "$1 $2 $3" = "auth application-default login" ] || exit 2');
      fake(
        'cloud-sql-proxy',
        `[ "$1" = --unix-socket ] || exit 2\nmkdir -p "$2/$3" && ln -sf '${socket}' "$2/$3/.s.PGSQL.5432"`,
      );
      // What operator-env writes, with the URL its sm: reference names (Secret Manager is not reached offline).
      const [, proxyAndRun] = docsBlocks('Google Cloud');
      const instance = /cloud-sql-proxy --unix-socket \S+ (\S+)/.exec(proxyAndRun!)![1]!;
      const lines = Object.entries({
        ...env,
        G2K_POSTGRES_URL: `postgresql://g2k@/postgres?host=/cloudsql/${instance}`,
      }).map(([k, v]) => `${k}='${v}'`);
      writeFileSync(path.join(work, 'ops.env'), `${lines.join('\n')}\n`);
      // The fake proxy exits once its socket is made; `wait` stands for the seconds a real one takes to start.
      const result = await onOperatorMachine(proxyAndRun!.replace('set -a', 'wait\nset -a'), {
        PATH: `${tools}:${process.env.PATH}`,
      });
      const report = statusReport(result);
      expect(report.subscriptions.counts).toEqual([
        { tenantId: sim.defaults.tenantId, kind: 'events', state: 'active', count: 1 },
      ]);
      expect(result.code).toBe(report.healthy ? 0 : 1);
    }, 120_000);
  });
});
