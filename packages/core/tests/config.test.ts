import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadConfig } from '../src/index.ts';
import { configProblems, TENANT, validEnv } from './fixtures/env.ts';

const run = promisify(execFile);

const valid = validEnv;
const problems = configProblems;

describe('configuration', () => {
  it('reads a minimal valid environment with documented defaults', async () => {
    const config = await loadConfig(valid);
    expect(config.graph).toMatchObject({
      baseUrl: 'https://graph.microsoft.com/v1.0',
      authorityHost: 'https://login.microsoftonline.com',
      clientSecret: 'literal-secret',
      batchConcurrency: 4,
    });
    expect([...config.allowedTenants]).toEqual([TENANT]);
    expect(config.topics).toEqual({
      events: 'graph.calendar.events',
      messages: 'graph.mail.messages',
      contacts: 'graph.contacts',
      users: 'graph.directory.users',
      groups: 'graph.directory.groups',
      channelMessages: 'graph.teams.channel-messages',
      chatMessages: 'graph.teams.chat-messages',
      chats: 'graph.teams.chats',
      lifecycle: 'graph.subscription.lifecycle',
      deadLetter: 'graph.calendar.deadletter',
    });
    expect(config.kafka.maxRecordBytes).toBe(1_000_000);
    expect(config.timeBudgetMs).toBe(2_000);
    expect(config.kafka).toMatchObject({ brokers: ['127.0.0.1:19092'], ssl: false, sasl: undefined });
  });

  it('names every missing setting at once, with what it is for', async () => {
    const list = await problems({});
    expect(list).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^AZURE_TENANT_ID is not set/),
        expect.stringMatching(/^AZURE_CLIENT_ID is not set/),
        expect.stringMatching(/^AZURE_CLIENT_SECRET is not set/),
        expect.stringMatching(/^KAFKA_BROKERS is not set/),
        expect.stringMatching(/^G2K_STATE_STORE is not set/),
      ]),
    );
  });

  it.each([
    ['GRAPH_BASE_URL', 'http://graph.local/v1.0', /must be an https URL/],
    ['AZURE_TENANT_ID', 'contoso.com', /tenant's GUID/],
    ['G2K_ALLOWED_TENANTS', `${TENANT},nope`, /tenant GUIDs, got a value of 4 character\(s\) \(not shown/],
    ['KAFKA_BROKERS', 'kafka', /host:port/],
    ['KAFKA_SSL', 'yes', /true or false/],
    ['KAFKA_SASL_MECHANISM', 'gssapi', /plain, scram-sha-256, scram-sha-512 or oauthbearer/],
    ['G2K_TIME_BUDGET_MS', '3000', /from 100 to 2800/],
    ['G2K_TOPIC', 'bad topic', /not a valid Kafka topic name/],
    ['G2K_STATE_STORE', 's3://bucket', /file:<directory>/],
    ['G2K_GRAPH_CA_FILE', '/no/such/ca.pem', /cannot be read \(ENOENT\)/],
    [
      'AZURE_CLIENT_SECRET',
      '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/s/)',
      /unresolved Key Vault reference/,
    ],
  ])('refuses a bad %s with a reason', async (name, value, reason) => {
    const list = await problems({ ...valid, [name]: value });
    expect(list).toEqual([expect.stringMatching(reason)]);
  });

  it.each([
    [
      'G2K_STATE_STORE',
      'DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWs=;EndpointSuffix=core.windows.net',
      'c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWs',
    ],
    [
      'KAFKA_BROKERS',
      'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc123XYZsecret=',
      'abc123XYZsecret',
    ],
    ['GRAPH_BASE_URL', 'postgresql://g2k:hunter2-but-longer@10.0.0.5/state', 'hunter2-but-longer'],
    ['AZURE_TENANT_ID', 'Qm7~x9Lh.2Vd_8FwPz3sKt6Yc4Nn1Rb0Ja5Ge-Hu7Wq', 'Qm7~x9Lh.2Vd_8FwPz3sKt6Yc4Nn1Rb0Ja5Ge-Hu7Wq'],
  ])('names %s when a secret was pasted into it, without printing the secret', async (name, value, secret) => {
    const text = (await problems({ ...valid, [name]: value })).join('\n');
    expect(text).toMatch(new RegExp(`^${name} .*looks like a secret`, 'm'));
    expect(text).not.toContain(secret);
  });

  it.each([
    ['KAFKA_SASL_MECHANISM', 'Tr0ub4dor&3'],
    ['G2K_METRICS_EXPORTER', 'hunter2'],
    ['KAFKA_BROKERS', 'kafka.example.com'],
    ['AZURE_TENANT_ID', 'pw-123'],
  ])('never echoes a short password pasted into %s, in any case', async (name, secret) => {
    const text = (await problems({ ...valid, [name]: secret })).join('\n');
    expect(text).toMatch(new RegExp(`^${name} `, 'm'));
    for (const leaked of ['Tr0ub4dor', 'tr0ub4dor', 'hunter2', 'pw-123', 'kafka.example'])
      expect(text).not.toContain(leaked);
  });

  it('refuses a renewal endpoint without the one service account allowed to call it', async () => {
    const list = await problems({ ...valid, G2K_RENEWAL_AUDIENCE: 'https://renewal.example.run.app' });
    expect(list).toEqual([expect.stringMatching(/^G2K_RENEWAL_INVOKER is not set/)]);
  });

  it('asks for SASL credentials when a mechanism is set', async () => {
    const list = await problems({ ...valid, KAFKA_SASL_MECHANISM: 'scram-sha-512' });
    expect(list).toEqual([
      expect.stringMatching(/KAFKA_SASL_USERNAME is not set/),
      expect.stringMatching(/KAFKA_SASL_PASSWORD is not set/),
    ]);
  });

  it('reads the dead-letter signing keys, and refuses short ones or a previous key alone', async () => {
    expect((await loadConfig(valid)).deadLetterKeys).toBeUndefined();
    const current = 'k'.repeat(32);
    const previous = 'p'.repeat(40);
    const config = await loadConfig({ ...valid, G2K_DEAD_LETTER_KEY: current, G2K_DEAD_LETTER_PREVIOUS_KEY: previous });
    expect(config.deadLetterKeys).toEqual({ current: Buffer.from(current), previous: Buffer.from(previous) });
    expect(await problems({ ...valid, G2K_DEAD_LETTER_KEY: 'short' })).toEqual([
      'G2K_DEAD_LETTER_KEY must be at least 32 characters (5 given); make one with: openssl rand -base64 32',
    ]);
    expect(await problems({ ...valid, G2K_DEAD_LETTER_PREVIOUS_KEY: previous })).toEqual([
      expect.stringMatching(/^G2K_DEAD_LETTER_PREVIOUS_KEY is set without G2K_DEAD_LETTER_KEY/),
    ]);
  });

  it('refuses a secret reference when the platform has no source for it', async () => {
    const list = await problems({ ...valid, AZURE_CLIENT_SECRET: 'sm:projects/p/secrets/s/versions/latest' });
    expect(list).toEqual([expect.stringMatching(/no sm secret source is available/)]);
  });

  describe('secret references through the real Secret Manager client', () => {
    let server: Server;
    const secrets: Record<string, string> = {
      'projects/p/secrets/graph-client-secret/versions/latest': 's3cr3t-from-secret-manager',
      'projects/p/secrets/kafka-password/versions/2': 'kafka-pw',
    };
    beforeAll(async () => {
      // Secret Manager's REST surface (GET /v1/{name}:access), as the client's fallback transport calls it.
      server = createServer((req, res) => {
        const name = decodeURIComponent(/^\/v1\/(.+):access/.exec(req.url ?? '')?.[1] ?? '');
        const value = secrets[name];
        res.writeHead(value ? 200 : 404, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify(
            value
              ? { name, payload: { data: Buffer.from(value).toString('base64') } }
              : { error: { code: 404, message: `Secret [${name}] not found`, status: 'NOT_FOUND' } },
          ),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise((r) => server.close(r)));

    /** loadConfig with the real client, in a plain Node process (see the fixture for why). */
    const loadInNode = async (
      env: Record<string, string>,
    ): Promise<{ clientSecret?: string; sasl?: unknown; problems?: string[] }> => {
      const fixture = join(__dirname, 'fixtures', 'load-config-with-secret-manager.ts');
      const { stdout } = await run(
        process.execPath,
        [
          '--conditions=@graph2kafka/source',
          fixture,
          String((server.address() as AddressInfo).port),
          JSON.stringify(env),
        ],
        {
          env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
          timeout: 30_000,
        },
      );
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        clientSecret?: string;
        sasl?: unknown;
        problems?: string[];
      };
    };

    it('resolves sm: references for the client secret and the Kafka password', async () => {
      const result = await loadInNode({
        ...valid,
        AZURE_CLIENT_SECRET: 'sm:projects/p/secrets/graph-client-secret/versions/latest',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'sm:projects/p/secrets/kafka-password/versions/2',
      });
      expect(result).toEqual({
        clientSecret: 's3cr3t-from-secret-manager',
        sasl: { mechanism: 'plain', username: 'u', password: 'kafka-pw' },
      });
    }, 30_000);

    it('says which secret is missing and what permission it needs', async () => {
      const result = await loadInNode({ ...valid, AZURE_CLIENT_SECRET: 'sm:projects/p/secrets/nope/versions/latest' });
      expect(result.problems).toEqual([
        expect.stringMatching(
          /AZURE_CLIENT_SECRET: secret sm:projects\/p\/secrets\/nope\/versions\/latest could not be read \(not found\).*secretAccessor/,
        ),
      ]);
    }, 30_000);

    it('refuses a reference without a version', async () => {
      const result = await loadInNode({ ...valid, AZURE_CLIENT_SECRET: 'sm:projects/p/secrets/graph-client-secret' });
      expect(result.problems).toEqual([expect.stringMatching(/must name a version/)]);
    }, 30_000);
  });

  describe('desired state', () => {
    const OTHER = '0c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e4f5';
    const USER = '11111111-2222-4333-8444-555555555555';
    const hooks = { G2K_NOTIFICATION_URL: 'https://fn.example/n', G2K_LIFECYCLE_URL: 'https://fn.example/l' };
    const fileWith = (content: unknown): string => {
      const path = join(mkdtempSync(join(tmpdir(), 'g2k-desired-')), 'subscriptions.json');
      writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
      return path;
    };

    it('reads entries per tenant and kind, and accepts notifications from each of their tenants', async () => {
      const file = fileWith({
        subscriptions: [
          { kind: 'events', users: [USER.toUpperCase()] },
          { tenant: OTHER, kind: 'messages', users: [USER], folders: ['inbox', 'archive'], select: 'subject,from' },
          { tenant: OTHER, kind: 'contacts', groups: [USER], changeTypes: 'created,deleted' },
        ],
      });
      const config = await loadConfig({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: file });
      expect(config.subscriptions!.desired).toEqual([
        expect.objectContaining({
          tenantId: TENANT,
          kind: 'events',
          users: [USER],
          changeTypes: ['created', 'updated', 'deleted'],
        }),
        expect.objectContaining({
          tenantId: OTHER,
          kind: 'messages',
          folders: ['inbox', 'archive'],
          select: 'subject,from',
        }),
        expect.objectContaining({
          tenantId: OTHER,
          kind: 'contacts',
          groups: [USER],
          changeTypes: ['created', 'deleted'],
        }),
      ]);
      expect([...config.allowedTenants].sort()).toEqual([TENANT, OTHER].sort());
    });

    it('reads calendars (default, all, or ids and names) and rooms (all, or a room list)', async () => {
      const file = fileWith({
        subscriptions: [
          { kind: 'events', users: [USER] },
          { kind: 'events', users: [USER], calendars: 'all' },
          { kind: 'events', users: [USER], calendars: ['Work', 'AAMkAbc=', 'Work'] },
          { kind: 'events', rooms: true, calendars: 'default' },
          { kind: 'events', rooms: 'Building-1@Contoso.com' },
        ],
      });
      const config = await loadConfig({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: file });
      expect(config.subscriptions!.desired.map((d) => [d.calendars, d.rooms])).toEqual([
        ['default', undefined],
        ['all', undefined],
        [['Work', 'AAMkAbc='], undefined],
        ['default', { list: undefined }],
        ['default', { list: 'building-1@contoso.com' }],
      ]);
    });

    it('refuses calendars outside events, malformed calendar lists and rooms', async () => {
      const file = fileWith({
        subscriptions: [
          { kind: 'messages', users: [USER], calendars: 'all' },
          { kind: 'events', users: [USER], calendars: [] },
          { kind: 'events', users: [USER], calendars: ['ok', 'bad\u0000name'] },
          { kind: 'events', rooms: 'not an address' },
          { kind: 'users', rooms: true },
        ],
      });
      expect(await problems({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: file })).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/subscriptions\[0\] \(messages\): calendars apply to events only/),
          expect.stringMatching(/subscriptions\[1\] \(events\): calendars must be "default", "all" or a list/),
          expect.stringMatching(/subscriptions\[2\] \(events\): calendars must be "default", "all" or a list/),
          expect.stringMatching(/subscriptions\[3\] \(events\): rooms must be true .* or a room list's email address/),
          expect.stringMatching(
            /subscriptions\[4\] \(users\): users is tenant-wide: .* leave out users, groups and rooms/,
          ),
        ]),
      );
    });

    it('keeps the simple settings as shorthand, for the kinds G2K_SUBSCRIBE_KINDS names', async () => {
      const config = await loadConfig({
        ...valid,
        ...hooks,
        G2K_SUBSCRIBE_USERS: USER,
        G2K_SUBSCRIBE_KINDS: 'events,messages',
      });
      expect(config.subscriptions!.desired.map((d) => [d.tenantId, d.kind, d.users])).toEqual([
        [TENANT, 'events', [USER]],
        [TENANT, 'messages', [USER]],
      ]);
    });

    it('reads expandOccurrences for events (an object or a number of future days) and refuses it elsewhere', async () => {
      const file = fileWith({
        subscriptions: [
          { kind: 'events', users: [USER], expandOccurrences: { futureDays: 90, pastDays: 7 } },
          { kind: 'events', groups: [USER], expandOccurrences: 30 },
        ],
      });
      const config = await loadConfig({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: file });
      expect(config.subscriptions!.desired.map((d) => d.expandOccurrences)).toEqual([
        { futureDays: 90, pastDays: 7 },
        { futureDays: 30, pastDays: 0 },
      ]);
      const shorthand = await loadConfig({
        ...valid,
        ...hooks,
        G2K_SUBSCRIBE_USERS: USER,
        G2K_EXPAND_OCCURRENCES_DAYS: '60',
      });
      expect(shorthand.subscriptions!.desired[0]!.expandOccurrences).toEqual({ futureDays: 60, pastDays: 0 });
      const bad = fileWith({
        subscriptions: [
          { kind: 'messages', users: [USER], expandOccurrences: 30 },
          { kind: 'events', users: [USER], expandOccurrences: { futureDays: 400 } },
          { kind: 'events', users: [USER], expandOccurrences: { futureDays: 10, past: 1 } },
        ],
      });
      expect(await problems({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: bad })).toEqual([
        expect.stringMatching(/subscriptions\[0\] \(messages\): expandOccurrences applies to events only/),
        expect.stringMatching(/subscriptions\[1\] \(events\): expandOccurrences must be \{ "futureDays": 1..366/),
        expect.stringMatching(/subscriptions\[2\] \(events\): expandOccurrences must be/),
      ]);
      expect(
        await problems({ ...valid, ...hooks, G2K_SUBSCRIBE_USERS: USER, G2K_EXPAND_OCCURRENCES_DAYS: 'a year' }),
      ).toEqual([
        'G2K_EXPAND_OCCURRENCES_DAYS must be a whole number from 0 to 366, got a value of 6 character(s) (not shown: a secret pasted into the wrong setting must not reach the logs).',
      ]);
    });

    it('reads mode "rich" for Outlook kinds, with richRead; refuses it elsewhere and without a certificate', async () => {
      const bad = fileWith({
        subscriptions: [
          { kind: 'users', mode: 'rich' },
          { kind: 'events', users: [USER], mode: 'rich', select: 'subject,body' },
          { kind: 'events', users: [USER], richRead: 'body' },
          { kind: 'events', users: [USER], mode: 'fancy' },
        ],
      });
      expect(await problems({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: bad })).toEqual([
        expect.stringMatching(/subscriptions\[0\] \(users\): Graph sends no rich notifications for users/),
        expect.stringMatching(
          /subscriptions\[1\] \(events\): Graph refuses body and uniqueBody .* name them in richRead/,
        ),
        expect.stringMatching(/subscriptions\[2\] \(events\): richRead applies to mode "rich" only/),
        expect.stringMatching(/subscriptions\[3\] \(events\): mode must be "basic" or "rich"/),
      ]);
      const good = fileWith({ subscriptions: [{ kind: 'events', users: [USER], mode: 'rich', richRead: 'body' }] });
      expect(await problems({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: good })).toEqual([
        expect.stringMatching(
          /mode "rich", but G2K_RICH_CERTIFICATE_ID, G2K_RICH_CERTIFICATE and G2K_RICH_PRIVATE_KEY are not set: create them with `graph2kafka cert create`/,
        ),
      ]);
    });

    it('names the entry of every problem, all at once', async () => {
      const file = fileWith({
        subscriptions: [
          { kind: 'calendars', users: [USER] },
          { kind: 'events', users: ['adele@contoso.com'] },
          { kind: 'contacts', users: [USER], folders: ['inbox'] },
          { tenant: 'contoso', kind: 'messages', users: [USER], changeTypes: ['moved'], colour: 'red' },
          { kind: 'messages' },
          { kind: 'users', users: [USER] },
          { kind: 'groups', changeTypes: 'created,updated' },
        ],
      });
      const found = await problems({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: file });
      expect(found).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/subscriptions\[0\]: kind must be one of events, messages, contacts, users, groups/),
          expect.stringMatching(/subscriptions\[1\] \(events\): users must be a list of user object ids/),
          expect.stringMatching(/subscriptions\[2\] \(contacts\): folders apply to messages only/),
          expect.stringMatching(/subscriptions\[3\] has unknown field\(s\) colour/),
          expect.stringMatching(/subscriptions\[3\] \(messages\): tenant must be a tenant GUID/),
          expect.stringMatching(/subscriptions\[3\] \(messages\): changeTypes must list created, updated, deleted/),
          expect.stringMatching(/subscriptions\[4\] \(messages\): name the mailboxes with users, groups and\/or rooms/),
          expect.stringMatching(
            /subscriptions\[5\] \(users\): users is tenant-wide: one subscription covers the tenant/,
          ),
          expect.stringMatching(/subscriptions\[6\] \(groups\): changeTypes must list updated, deleted/),
        ]),
      );
    });

    it('says what is wrong with a file that is not the format', async () => {
      expect(await problems({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: fileWith('{ not json') })).toEqual([
        expect.stringMatching(/^G2K_SUBSCRIPTIONS_FILE is not valid JSON/),
      ]);
      expect(await problems({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: fileWith({ events: [] }) })).toEqual([
        expect.stringMatching(/must hold \{ "subscriptions": \[ … \] \}/),
      ]);
      expect(await problems({ ...valid, ...hooks, G2K_SUBSCRIPTIONS_FILE: '/nonexistent/subscriptions.json' })).toEqual(
        [
          expect.stringMatching(
            /G2K_SUBSCRIPTIONS_FILE names '\/nonexistent\/subscriptions.json', which cannot be read/,
          ),
        ],
      );
    });
  });
});
