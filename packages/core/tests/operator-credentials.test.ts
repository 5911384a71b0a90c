import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import {
  fakeAzureCli,
  startAzuriteTable,
  startFakeKeyVault,
  type AzuriteTable,
  type FakeAzureCli,
  type FakeKeyVault,
} from '@graph2kafka/testkit';
import { ConfigError, loadConfig, operatorSecretSources, TableDocumentStore } from '../src/index.ts';
import { azureCredential } from '../src/azure/azure-credential.ts';
import { AzureCredentialError } from '../src/errors.ts';
import { KeyVaultSecretSource, parseKeyVaultReference } from '../src/config/key-vault-source.ts';
import { kafkaSasl } from '../src/kafka/auth.ts';
import { subscriptionCollection } from '../src/subscriptions/subscription-collection.ts';
import { viaLocalSocketDir } from '../src/config/cloudsql-socket.ts';
import { TENANT, validEnv } from './fixtures/env.ts';

const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { aud: string; upn: string };

const pathBefore = process.env.PATH;
let az: FakeAzureCli;
beforeAll(() => {
  az = fakeAzureCli();
  // AzureCliCredential runs `az` from PATH, as on an operator's machine.
  process.env.PATH = `${az.dir}:${pathBefore}`;
});
afterAll(() => {
  process.env.PATH = pathBefore;
  az.remove();
});

describe('G2K_AZURE_CREDENTIAL: whose identity reaches Azure', () => {
  it('auto is the managed identity on App Service/Functions and the operator elsewhere; explicit values win', async () => {
    expect((await loadConfig(validEnv)).azure).toEqual({ mode: 'developer' });
    for (const marker of ['IDENTITY_ENDPOINT', 'MSI_ENDPOINT', 'WEBSITE_INSTANCE_ID'])
      expect((await loadConfig({ ...validEnv, [marker]: 'x' })).azure.mode).toBe('managed');
    expect((await loadConfig({ ...validEnv, G2K_AZURE_CREDENTIAL: 'managed' })).azure.mode).toBe('managed');
    expect(
      (await loadConfig({ ...validEnv, IDENTITY_ENDPOINT: 'http://x', G2K_AZURE_CREDENTIAL: 'Developer' })).azure.mode,
    ).toBe('developer');
  });

  it('refuses a mode or identity it does not know, saying what it takes', async () => {
    const err = (await loadConfig({
      ...validEnv,
      G2K_AZURE_CREDENTIAL: 'default',
      G2K_OPERATOR_CLIENT_ID: 'oncall',
    }).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.problems).toEqual([
      'G2K_AZURE_CREDENTIAL must be auto, managed or developer, got a value of 7 character(s) (not shown: a secret pasted into the wrong setting must not reach the logs).',
      expect.stringMatching(/^G2K_OPERATOR_CLIENT_ID must be a GUID/),
    ]);
  });

  it("managed is the function's own path: its managed identity, never a developer credential", () => {
    expect(azureCredential({ mode: 'managed', managedClientId: TENANT })).toBeInstanceOf(ManagedIdentityCredential);
    expect(azureCredential({ mode: 'developer' })).not.toBeInstanceOf(ManagedIdentityCredential);
  });
});

describe("the operator's Azure CLI sign-in", () => {
  let azurite: AzuriteTable;
  beforeAll(async () => {
    azurite = await startAzuriteTable({ oauth: true });
  }, 60_000);
  afterAll(() => azurite.stop());

  const store = (credential: TokenCredential) =>
    TableDocumentStore.fromUrl(azurite.tableUrl, `ops${Date.now()}`, credential, {
      tlsOptions: { ca: azurite.caPem },
    });

  it('reaches Table Storage with a token for Storage from `az account get-access-token`; Azurite checks it', async () => {
    await expect(store(azureCredential({ mode: 'developer' })).list(subscriptionCollection)).resolves.toEqual([]);
    expect(az.calls().at(-1)).toBe('account get-access-token --output json --resource https://storage.azure.com');
    // The same emulator refuses a token for another audience: the bearer token is what let the first one in.
    const vaultToken = await azureCredential({ mode: 'developer' }).getToken('https://vault.azure.net/.default');
    const wrong: TokenCredential = { getToken: () => Promise.resolve(vaultToken) };
    await expect(store(wrong).list(subscriptionCollection)).rejects.toMatchObject({ statusCode: 403 });
  });

  it('Kafka OAUTHBEARER with KAFKA_OAUTH_IDENTITY=managed takes the operator token for the Event Hubs namespace', async () => {
    const config = await loadConfig({
      ...validEnv,
      KAFKA_BROKERS: 'contoso-events.servicebus.windows.net:9093',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_OAUTH_IDENTITY: 'managed',
    });
    const sasl = kafkaSasl(config.kafka, config.graph, { azureCredential: () => azureCredential(config.azure) });
    if (sasl?.mechanism !== 'oauthbearer') throw new Error('expected oauthbearer');
    const { value } = await sasl.oauthBearerProvider();
    expect(claims(value)).toMatchObject({
      aud: 'https://contoso-events.servicebus.windows.net',
      upn: 'oncall@contoso.example',
    });
  });

  it('signed out: says to run az login, with each credential’s own reason', async () => {
    const signedOut = fakeAzureCli();
    signedOut.signOut();
    process.env.PATH = `${signedOut.dir}:${pathBefore}`;
    try {
      const err = await store(azureCredential({ mode: 'developer' }))
        .list(subscriptionCollection)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AzureCredentialError);
      expect((err as Error).message).toMatch(/^no Azure credential: run `az login`/);
      expect((err as Error).message).toContain("Please run 'az login'");
    } finally {
      process.env.PATH = `${az.dir}:${pathBefore}`;
      signedOut.remove();
    }
  });
});

describe('Key Vault references, resolved with the operator credential', () => {
  let vault: FakeKeyVault;
  beforeAll(async () => {
    vault = await startFakeKeyVault({ 'azure-client-secret': 'the-graph-app-secret' }, TENANT);
  });
  afterAll(() => vault.stop());

  // In this process the emulated vault is reached on its loopback address, which the SDK's check of the
  // challenge's resource cannot match (the CLI's test reaches it by its real name, through a proxy).
  const source = () =>
    new KeyVaultSecretSource(azureCredential({ mode: 'developer' }), {
      tlsOptions: { ca: vault.caPem },
      disableChallengeResourceVerification: true,
    });
  const ref = (secret: string) => `@Microsoft.KeyVault(SecretUri=${vault.url}/secrets/${secret}/)`;

  it('reads both forms App Service writes, and nothing else', () => {
    expect(
      parseKeyVaultReference('@Microsoft.KeyVault(VaultName=contosog2k-kv;SecretName=azure-client-secret)'),
    ).toEqual({
      vaultUrl: 'https://contosog2k-kv.vault.azure.net',
      name: 'azure-client-secret',
      version: undefined,
    });
    expect(
      parseKeyVaultReference(
        '@Microsoft.KeyVault(SecretUri=https://contosog2k-kv.vault.azure.net/secrets/kafka-password/0f1e2d)',
      ),
    ).toEqual({ vaultUrl: 'https://contosog2k-kv.vault.azure.net', name: 'kafka-password', version: '0f1e2d' });
    expect(
      parseKeyVaultReference('@Microsoft.KeyVault(SecretUri=http://v.vault.azure.net/secrets/s/)'),
    ).toBeUndefined();
    expect(parseKeyVaultReference('@Microsoft.KeyVault(VaultName=v;SecretName=../keys)')).toBeUndefined();
    expect(parseKeyVaultReference('sm:projects/p/secrets/s/versions/latest')).toBeUndefined();
  });

  it('a setting kept as a reference in an operator environment file is read from the vault at start', async () => {
    const config = await loadConfig({ ...validEnv, AZURE_CLIENT_SECRET: ref('azure-client-secret') }, [source()]);
    expect(config.graph.clientSecret).toBe('the-graph-app-secret');
    expect(vault.seen.at(-1)).toBe('/secrets/azure-client-secret/ aud=https://vault.azure.net');
  });

  it('says what the operator lacks when the vault refuses, never the value', async () => {
    const err = (await loadConfig(
      {
        ...validEnv,
        AZURE_CLIENT_SECRET: ref('forbidden'),
        KAFKA_SASL_PASSWORD: ref('gone'),
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SSL: 'true',
      },
      [source()],
    ).catch((e: unknown) => e)) as ConfigError;
    expect(err.problems).toEqual([
      expect.stringMatching(
        /^AZURE_CLIENT_SECRET: Key Vault secret https:\/\/127\.0\.0\.1:\d+\/secrets\/forbidden could not be read \(permission denied: your identity needs "Key Vault Secrets User" on the vault/,
      ),
      expect.stringMatching(/^KAFKA_SASL_PASSWORD: Key Vault secret .*\/secrets\/gone could not be read \(not found\)/),
    ]);
  });

  it('the CLI gets a Key Vault source only off the platform (on the Function App, App Service resolves them)', async () => {
    const ref = { AZURE_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=contosog2k-kv;SecretName=azure-client-secret)' };
    expect((await operatorSecretSources({ ...validEnv, ...ref })).map((s) => s.scheme)).toEqual(['keyvault']);
    expect(await operatorSecretSources({ ...validEnv, ...ref, WEBSITE_INSTANCE_ID: 'abc' })).toEqual([]);
    expect(await operatorSecretSources(validEnv)).toEqual([]);
  });
});

describe('PostgreSQL from a laptop: G2K_CLOUDSQL_SOCKET_DIR', () => {
  it('moves the /cloudsql socket folder under the proxy’s, in either spelling, keeping the rest', () => {
    expect(
      viaLocalSocketDir('postgresql://g2k:pw@/graph2kafka?host=/cloudsql/p:r:i&sslmode=disable', '/home/me/cloudsql/'),
    ).toBe('postgresql://g2k:pw@/graph2kafka?host=%2Fhome%2Fme%2Fcloudsql%2Fp%3Ar%3Ai&sslmode=disable');
    expect(viaLocalSocketDir('postgresql://g2k@/db?host=%2Fcloudsql%2Fp%3Ar%3Ai', '/tmp/s')).toBe(
      'postgresql://g2k@/db?host=%2Ftmp%2Fs%2Fp%3Ar%3Ai',
    );
    expect(viaLocalSocketDir('postgresql://g2k@127.0.0.1:5432/db', '/tmp/s')).toBeUndefined();
    expect(viaLocalSocketDir('postgresql://g2k@/db?host=/var/run/postgresql', '/tmp/s')).toBeUndefined();
  });

  it('refuses a socket folder that cannot apply, without showing the URL', async () => {
    const err = (await loadConfig({
      ...validEnv,
      G2K_STATE_STORE: 'postgres',
      G2K_POSTGRES_URL: 'postgresql://g2k:hunter2@127.0.0.1:5432/db',
      G2K_CLOUDSQL_SOCKET_DIR: '/tmp/cloudsql',
    }).catch((e: unknown) => e)) as ConfigError;
    expect(err.problems).toEqual([
      expect.stringMatching(/^G2K_CLOUDSQL_SOCKET_DIR is set, but G2K_POSTGRES_URL does not/),
    ]);
    expect(err.message).not.toContain('hunter2');
    const relative = (await loadConfig({
      ...validEnv,
      G2K_STATE_STORE: 'postgres',
      G2K_POSTGRES_URL: 'postgresql://g2k@/db?host=/cloudsql/p:r:i',
      G2K_CLOUDSQL_SOCKET_DIR: 'cloudsql',
    }).catch((e: unknown) => e)) as ConfigError;
    expect(relative.problems).toEqual([expect.stringMatching(/^G2K_CLOUDSQL_SOCKET_DIR must be an absolute folder/)]);
  });
});
