import { ClientSecretCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import type { GraphSettings } from '../config/config.ts';
import { TokenError } from '../errors.ts';
import { silentLogger, type Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

export interface TokenSource {
  /** A bearer token for Graph in `tenantId`; cached and refreshed before it expires. */
  token(tenantId: string): Promise<string>;
  /** Forget the cached token (Graph said 401 to it). */
  invalidate(tenantId: string): void;
}

export interface TokenSourceOptions {
  now?: () => number;
  logger?: Logger;
  /** The credential of a tenant; by default the app registration's client secret (`appCredential`). */
  credential?: (tenantId: string) => TokenCredential;
  metrics?: Metrics;
}

const KNOWN_AUTHORITIES = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
]);
/** Refresh this long before expiry, so no request ever carries a token that expires on the way. */
const REFRESH_BEFORE_MS = 5 * 60_000;
/** A cached token keeps serving while a refresh runs, until this close to its expiry. */
const STILL_VALID_MS = 30_000;

/**
 * App-only tokens from `@azure/identity` (client secret), one credential per tenant. After a 5xx or 429 from
 * the token endpoint MSAL refuses to ask again for the Retry-After time (60 s without one): requests then fail
 * fast with a TokenError, and the cached token, while still valid, keeps serving.
 */
export class IdentityTokenSource implements TokenSource {
  private readonly settings: GraphSettings;
  private readonly scope: string;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly credentialFor: (tenantId: string) => TokenCredential;
  private readonly credentials = new Map<string, TokenCredential>();
  private readonly cached = new Map<string, AccessToken>();
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(settings: GraphSettings, options: TokenSourceOptions = {}) {
    this.settings = settings;
    // Tokens are per cloud: the scope is the Graph origin of the configured base URL.
    this.scope = `${new URL(settings.baseUrl).origin}/.default`;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics;
    this.credentialFor = options.credential ?? ((tenantId) => appCredential(settings, tenantId));
  }

  async token(tenantId: string): Promise<string> {
    const cached = this.cached.get(tenantId);
    const now = this.now();
    if (cached && now < cached.expiresOnTimestamp - REFRESH_BEFORE_MS) return cached.token;
    const refresh = this.inFlight.get(tenantId) ?? this.fetch(tenantId);
    if (cached && now < cached.expiresOnTimestamp - STILL_VALID_MS) return cached.token;
    return refresh;
  }

  invalidate(tenantId: string): void {
    this.cached.delete(tenantId);
  }

  private fetch(tenantId: string): Promise<string> {
    const promise = (async () => {
      try {
        const token = await this.credential(tenantId).getToken(this.scope);
        if (!token) throw new Error('the credential returned no token');
        this.cached.set(tenantId, token);
        return token.token;
      } catch (err) {
        this.metrics?.tokenFailed();
        throw new TokenError(
          `no app-only token for tenant ${tenantId} from ${this.settings.authorityHost}: ${(err as Error).message.split('\n')[0]}. Check AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and the admin consent for Calendars.Read in that tenant.`,
          { cause: err },
        );
      } finally {
        this.inFlight.delete(tenantId);
      }
    })();
    this.inFlight.set(tenantId, promise);
    // A refresh behind a still-valid token has nobody waiting for it; its failure must not go unhandled (an
    // unhandled rejection ends a functions-framework instance). Callers that wait get the error themselves.
    promise.catch((err: unknown) => {
      const cached = this.cached.get(tenantId);
      if (cached && this.now() < cached.expiresOnTimestamp - STILL_VALID_MS)
        this.logger.warn('Graph token refresh failed; the cached token serves until it expires', {
          tenantId,
          expiresAt: new Date(cached.expiresOnTimestamp).toISOString(),
          error: (err as Error).message,
        });
    });
    return promise;
  }

  private credential(tenantId: string): TokenCredential {
    let credential = this.credentials.get(tenantId);
    if (!credential) {
      credential = this.credentialFor(tenantId);
      this.credentials.set(tenantId, credential);
    }
    return credential;
  }
}

/** The app registration's client-secret credential in one tenant, at the configured (possibly private) authority. */
export function appCredential(settings: GraphSettings, tenantId: string): ClientSecretCredential {
  const { authorityHost, clientId, clientSecret, caPem } = settings;
  return new ClientSecretCredential(tenantId, clientId, clientSecret, {
    authorityHost,
    // Instance discovery asks login.microsoftonline.com about the authority; a private one (graph-sim) must skip it.
    disableInstanceDiscovery: !KNOWN_AUTHORITIES.has(new URL(authorityHost).hostname),
    ...(caPem ? { tlsOptions: { ca: caPem } } : {}),
  });
}
