import type { AccessToken, TokenCredential } from '@azure/identity';
import { GraphSim } from '@graph2kafka/graph-sim';
import { brokersFromEnv } from '@graph2kafka/kafka-local';
import { graphSimEnv, READ_TIMEOUT_MS, READER_START_MS, TopicReader } from '@graph2kafka/testkit';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SASLOptions } from 'kafkajs';
import { ConfigError, KafkaRecordSink, loadConfig, silentLogger } from '../src/index.ts';
import { googleKafkaToken, kafkaSasl } from '../src/kafka/auth.ts';
import { KafkaAuthError, ProduceError } from '../src/errors.ts';
import type { Config } from '../src/config/config.ts';

const TENANT = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
const base = {
  AZURE_TENANT_ID: TENANT,
  AZURE_CLIENT_ID: 'b3a9d5c1-2e4f-4a6b-8c7d-9e0f1a2b3c4d',
  AZURE_CLIENT_SECRET: 'literal-secret',
  G2K_STATE_STORE: 'file:/tmp/g2k-state',
};

async function problems(env: Record<string, string>): Promise<string[]> {
  const err = await loadConfig({ ...base, ...env }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems;
}

const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;

async function oauthValue(sasl: SASLOptions | undefined): Promise<string> {
  if (sasl?.mechanism !== 'oauthbearer') throw new Error(`expected oauthbearer, got ${sasl?.mechanism}`);
  return (await sasl.oauthBearerProvider()).value;
}

describe('Kafka target settings', () => {
  it('Azure Event Hubs over OAUTHBEARER: provider and scope follow from the namespace host', async () => {
    const config = await loadConfig({
      ...base,
      KAFKA_BROKERS: 'contoso-events.servicebus.windows.net:9093',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
      KAFKA_OAUTH_IDENTITY: 'managed',
      G2K_MANAGED_IDENTITY_CLIENT_ID: '0d4e1c2b-0000-4000-8000-000000000001',
    });
    expect(config.kafka.sasl).toEqual({
      mechanism: 'oauthbearer',
      provider: 'entra',
      scope: 'https://contoso-events.servicebus.windows.net/.default',
      identity: 'managed',
      managedClientId: '0d4e1c2b-0000-4000-8000-000000000001',
    });
  });

  it('Google Managed Service for Apache Kafka over OAUTHBEARER: provider from the bootstrap host', async () => {
    const config = await loadConfig({
      ...base,
      KAFKA_BROKERS: 'bootstrap.events.europe-west1.managedkafka.contoso-prod.cloud.goog:9092',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'oauthbearer',
    });
    expect(config.kafka.sasl).toEqual({ mechanism: 'oauthbearer', provider: 'google' });
  });

  it('Confluent Cloud / self-managed: SASL PLAIN or SCRAM over TLS with an inline CA and a client certificate', async () => {
    const config = await loadConfig({
      ...base,
      KAFKA_BROKERS: 'pkc-12345.westeurope.azure.confluent.cloud:9092',
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_PEM: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----',
      KAFKA_SSL_CLIENT_CERT: 'CERT',
      KAFKA_SSL_CLIENT_KEY: 'KEY',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'APIKEY',
      KAFKA_SASL_PASSWORD: 'api-secret',
    });
    expect(config.kafka).toMatchObject({
      ssl: true,
      sslCaPem: expect.stringContaining('BEGIN CERTIFICATE'),
      sslClientCert: { cert: 'CERT', key: 'KEY' },
      sasl: { mechanism: 'plain', username: 'APIKEY', password: 'api-secret' },
    });
  });

  it('refuses settings that would leak a secret or cannot work, saying what to set', async () => {
    expect(
      await problems({
        KAFKA_BROKERS: 'kafka.internal:9092',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
      }),
    ).toEqual([
      expect.stringMatching(
        /^KAFKA_SASL_MECHANISM=plain sends its secret in clear text without TLS; set KAFKA_SSL=true/,
      ),
    ]);
    expect(
      await problems({ KAFKA_BROKERS: 'kafka.internal:9093', KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'oauthbearer' }),
    ).toEqual([
      'KAFKA_OAUTH_PROVIDER must be entra (Azure Event Hubs) or google (Managed Service for Apache Kafka) when KAFKA_SASL_MECHANISM=oauthbearer.',
    ]);
    expect(
      await problems({
        KAFKA_BROKERS: 'kafka.internal:9093',
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_OAUTH_PROVIDER: 'entra',
        KAFKA_OAUTH_IDENTITY: 'root',
      }),
    ).toEqual([
      'KAFKA_OAUTH_IDENTITY must be app or managed, got a value of 4 character(s) (not shown: a secret pasted into the wrong setting must not reach the logs).',
      expect.stringMatching(/^KAFKA_OAUTH_SCOPE is not set/),
    ]);
    expect(await problems({ KAFKA_BROKERS: 'k:9093', KAFKA_SSL: 'true', KAFKA_SSL_CLIENT_CERT: 'CERT' })).toEqual([
      'KAFKA_SSL_CLIENT_CERT and KAFKA_SSL_CLIENT_KEY go together: set both or neither.',
    ]);
    expect(await problems({ KAFKA_BROKERS: 'k:9093', KAFKA_SSL_CA_PEM: 'CA' })).toEqual([
      'KAFKA_SSL_CA_PEM, KAFKA_SSL_CA_FILE and client certificates need KAFKA_SSL=true.',
    ]);
    expect(await problems({ KAFKA_BROKERS: 'k:9093', KAFKA_SASL_MECHANISM: 'gssapi' })).toEqual([
      'KAFKA_SASL_MECHANISM must be plain, scram-sha-256, scram-sha-512 or oauthbearer, got a value of 6 character(s) (not shown: a secret pasted into the wrong setting must not reach the logs).',
    ]);
  });
});

describe('OAUTHBEARER token providers', () => {
  const graph = {} as Config['graph'];
  const google = (email: string, token = 'ya29.token-value') => ({
    accessToken: () => Promise.resolve({ token, expiresAt: Date.UTC(2026, 10, 25, 13, 0, 0) }),
    account: () => Promise.resolve(email),
  });

  it('Google: the JWT-shaped token Managed Kafka expects, carrying the access token and the service account', async () => {
    const value = await oauthValue(
      kafkaSasl(
        {
          brokers: [],
          clientId: 'x',
          client: 'kafkajs',
          ssl: true,
          sslCaPem: undefined,
          maxRecordBytes: 1_000_000,
          sasl: { mechanism: 'oauthbearer', provider: 'google' },
        },
        graph,
        {
          google: google('g2k-fn@contoso-prod.iam.gserviceaccount.com'),
          now: () => Date.UTC(2026, 10, 25, 12, 0, 0),
        },
      ),
    );
    const [header, claims, signature] = value.split('.');
    expect(decode(header!)).toEqual({ typ: 'JWT', alg: 'GOOG_OAUTH2_TOKEN' });
    expect(decode(claims!)).toEqual({
      exp: Date.UTC(2026, 10, 25, 13, 0, 0) / 1000,
      iat: Date.UTC(2026, 10, 25, 12, 0, 0) / 1000,
      scope: 'kafka',
      sub: 'g2k-fn@contoso-prod.iam.gserviceaccount.com',
    });
    expect(Buffer.from(signature!, 'base64url').toString()).toBe('ya29.token-value');
    // Whole seconds, rounded down, as JWT NumericDate requires.
    expect(decode(googleKafkaToken('t', 2_999, 's', 1_500).split('.')[1]!)).toMatchObject({ exp: 2, iat: 1 });
  });

  it('Google: a missing credential becomes a KafkaAuthError naming the role to grant', async () => {
    const sasl = kafkaSasl(
      {
        brokers: [],
        clientId: 'x',
        client: 'kafkajs',
        ssl: true,
        sslCaPem: undefined,
        maxRecordBytes: 1_000_000,
        sasl: { mechanism: 'oauthbearer', provider: 'google' },
      },
      graph,
      {
        google: {
          accessToken: () => Promise.reject(new Error('Could not load the default credentials')),
          account: () => Promise.resolve('a'),
        },
      },
    );
    const err = await oauthValue(sasl).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaAuthError);
    expect((err as Error).message).toBe(
      "no Google access token for Kafka: Could not load the default credentials. The function's service account needs roles/managedkafka.client.",
    );
  });

  it('Entra: asks the credential for the configured scope and hands kafkajs the token', async () => {
    const asked: string[] = [];
    const credential: TokenCredential = {
      getToken: (scope) => {
        asked.push(String(scope));
        return Promise.resolve({
          token: `token-${asked.length}`,
          expiresOnTimestamp: Date.now() + 3_600_000,
        } as AccessToken);
      },
    };
    const sasl = kafkaSasl(
      {
        brokers: [],
        clientId: 'x',
        client: 'kafkajs',
        ssl: true,
        sslCaPem: undefined,
        maxRecordBytes: 1_000_000,
        sasl: {
          mechanism: 'oauthbearer',
          provider: 'entra',
          scope: 'https://ns.servicebus.windows.net/.default',
          identity: 'managed',
        },
      },
      graph,
      { entraCredential: credential },
    );
    expect(await oauthValue(sasl)).toBe('token-1');
    expect(await oauthValue(sasl)).toBe('token-2');
    expect(asked).toEqual(['https://ns.servicebus.windows.net/.default', 'https://ns.servicebus.windows.net/.default']);
  });

  describe("Entra with the app registration's secret, against graph-sim's token endpoint", () => {
    let sim: GraphSim;
    let graphSettings: Config['graph'];
    let caDir: string;
    beforeAll(async () => {
      sim = await GraphSim.start();
      caDir = mkdtempSync(join(tmpdir(), 'g2k-ca-'));
      const caFile = join(caDir, 'ca.pem');
      writeFileSync(caFile, sim.caCertPem);
      graphSettings = (
        await loadConfig({ ...graphSimEnv(sim, caFile), KAFKA_BROKERS: '127.0.0.1:1', G2K_STATE_STORE: 'file:/tmp/x' })
      ).graph;
    });
    afterAll(async () => {
      await sim.stop();
      rmSync(caDir, { recursive: true, force: true });
    });

    const entra = (scope: string) =>
      kafkaSasl(
        {
          brokers: [],
          clientId: 'x',
          client: 'kafkajs',
          ssl: true,
          sslCaPem: undefined,
          maxRecordBytes: 1_000_000,
          sasl: { mechanism: 'oauthbearer', provider: 'entra', scope, identity: 'app' },
        },
        graphSettings,
      );

    it('gets a real token through @azure/identity for a resource the tenant knows', async () => {
      const token = await oauthValue(entra(`${new URL(sim.urls.graph).origin}/.default`));
      expect(token.split('.')).toHaveLength(3);
      expect(decode(token.split('.')[1]!)).toMatchObject({ tid: sim.defaults.tenantId, appid: sim.defaults.clientId });
    });

    it('says which scope and identity failed when the resource is unknown to the tenant', async () => {
      const err = await oauthValue(entra('https://contoso-events.servicebus.windows.net/.default')).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(KafkaAuthError);
      expect((err as Error).message).toMatch(
        /^no Entra ID token for Kafka \(scope https:\/\/contoso-events\.servicebus\.windows\.net\/\.default, app registration\): .*AADSTS500011.*Azure Event Hubs Data Sender/,
      );
    });
  });
});

/** The send budget these producers get, as the function gives its own: Kafka's acknowledgement or a ProduceError. */
const SEND_BUDGET_MS = 10_000;
/** Loading the settings and closing the producer, around the send. */
const PRODUCER_SETUP_MS = 5_000;

describe.each(['kafkajs', 'platformatic'])('SASL producer settings against the local broker (%s)', (client) => {
  const env = process.env;
  const saslBrokers = env.KAFKA_SASL_BROKERS ?? '127.0.0.1:19093';

  async function produceWith(settings: Record<string, string>, topic: string) {
    const config = await loadConfig({ ...base, KAFKA_BROKERS: saslBrokers, KAFKA_CLIENT: client, ...settings });
    const sink = new KafkaRecordSink(config.kafka, silentLogger, kafkaSasl(config.kafka, config.graph));
    try {
      await sink.send(
        topic,
        [{ key: 'k1', value: `via ${settings.KAFKA_SASL_MECHANISM}`, headers: { h: 'v' } }],
        SEND_BUDGET_MS,
      );
    } finally {
      await sink.close();
    }
  }

  it.each([
    ['plain', env.KAFKA_SASL_PLAIN_USERNAME ?? 'g2k-plain', env.KAFKA_SASL_PLAIN_PASSWORD ?? 'g2k-plain-secret'],
    [
      'scram-sha-512',
      env.KAFKA_SASL_SCRAM_USERNAME ?? 'g2k-scram',
      env.KAFKA_SASL_SCRAM_PASSWORD ?? 'g2k-scram-secret',
    ],
  ])(
    '%s: the configured producer is acknowledged and the record reads back',
    async (mechanism, user, password) => {
      const topic = `test.sasl.${client}.${mechanism}.${process.pid}.${Date.now()}`;
      // A record of the test's own making (not graph2kafka's): nothing to validate against the schemas.
      const reader = await TopicReader.start(brokersFromEnv(), topic, { validate: false });
      try {
        await produceWith(
          { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: user, KAFKA_SASL_PASSWORD: password },
          topic,
        );
        const [record] = await reader.waitFor(1);
        expect(record).toMatchObject({ key: 'k1', value: `via ${mechanism}`, headers: { h: 'v' } });
      } finally {
        await reader.stop();
      }
    },
    READER_START_MS + PRODUCER_SETUP_MS + SEND_BUDGET_MS + READ_TIMEOUT_MS,
  );

  it(
    'a wrong SCRAM password fails the send with a ProduceError (the function answers 503)',
    async () => {
      const err = await produceWith(
        { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'g2k-scram', KAFKA_SASL_PASSWORD: 'wrong' },
        `test.sasl.wrong.${process.pid}`,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProduceError);
      expect((err as Error).message).toMatch(/SASL SCRAM SHA512 authentication failed|Authentication failed/i);
    },
    SEND_BUDGET_MS + PRODUCER_SETUP_MS,
  );
});
