import type { AccessToken, TokenCredential } from '@azure/identity';
import { IdentityTokenSource } from '../src/graph/token-provider.ts';
import { TokenError } from '../src/errors.ts';
import type { Logger } from '../src/logger.ts';

const TENANT = '6e1f6b9c-6f3e-4d5a-9a47-3c2b1f0d8e71';
const HOUR = 60 * 60_000;

/** A tenant's credential whose token endpoint the test can take down. */
class Endpoint implements TokenCredential {
  down = false;
  calls = 0;
  private readonly clock: () => number;

  constructor(clock: () => number) {
    this.clock = clock;
  }

  getToken(): Promise<AccessToken> {
    this.calls++;
    if (this.down) return Promise.reject(new Error('temporarily_unavailable: AADSTS50001'));
    return Promise.resolve({ token: `token-${this.calls}`, expiresOnTimestamp: this.clock() + HOUR });
  }
}

describe('app-only token source', () => {
  let now: number;
  let endpoint: Endpoint;
  let warnings: Array<Record<string, unknown> | undefined>;
  let source: IdentityTokenSource;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));
  beforeEach(() => {
    now = Date.parse('2026-11-25T12:00:00Z');
    endpoint = new Endpoint(() => now);
    warnings = [];
    const logger: Logger = { info: () => undefined, error: () => undefined, warn: (_m, f) => warnings.push(f) };
    source = new IdentityTokenSource(
      { baseUrl: 'https://graph.microsoft.com/v1.0', authorityHost: 'https://login.microsoftonline.com' } as never,
      { now: () => now, logger, credential: () => endpoint },
    );
    unhandled.length = 0;
  });
  /** Lets pending rejections reach the process's unhandledRejection event, if anything left them unhandled. */
  const settle = () => new Promise((r) => setTimeout(r, 20));

  it('serves the cached token until five minutes before it expires, then gets a new one', async () => {
    expect(await source.token(TENANT)).toBe('token-1');
    now += HOUR - 6 * 60_000;
    expect(await source.token(TENANT)).toBe('token-1');
    expect(endpoint.calls).toBe(1);
    now += 2 * 60_000;
    expect(await source.token(TENANT)).toBe('token-1'); // still valid: served while the refresh runs
    await settle();
    expect(await source.token(TENANT)).toBe('token-2');
  });

  it('keeps serving a valid token when its refresh fails, without an unhandled rejection, and says so', async () => {
    await source.token(TENANT);
    endpoint.down = true;
    now += HOUR - 4 * 60_000;
    expect(await source.token(TENANT)).toBe('token-1');
    await settle();
    expect(unhandled).toEqual([]);
    expect(warnings).toEqual([
      expect.objectContaining({ tenantId: TENANT, error: expect.stringMatching(/AADSTS50001/) }),
    ]);

    // Too close to expiry to serve: the caller gets the error, telling what to check.
    now += 4 * 60_000 - 10_000;
    await expect(source.token(TENANT)).rejects.toThrow(TokenError);
    await expect(source.token(TENANT)).rejects.toThrow(/AZURE_CLIENT_ID, AZURE_CLIENT_SECRET/);
    await settle();
    expect(unhandled).toEqual([]);

    endpoint.down = false;
    expect(await source.token(TENANT)).toMatch(/^token-/);
  });

  it('asks the endpoint once for concurrent requests', async () => {
    const tokens = await Promise.all(Array.from({ length: 10 }, () => source.token(TENANT)));
    expect(new Set(tokens)).toEqual(new Set(['token-1']));
    expect(endpoint.calls).toBe(1);
  });
});
