import { ClientSecretCredential, type AccessToken } from '@azure/identity';
import type { GraphSettings } from '../config/config.ts';
import { TokenError } from '../errors.ts';

export interface TokenSource {
  /** A bearer token for Graph in `tenantId`; cached and refreshed before it expires. */
  token(tenantId: string): Promise<string>;
  /** Forget the cached token (Graph said 401 to it). */
  invalidate(tenantId: string): void;
}

const KNOWN_AUTHORITIES = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
]);
/** Refresh this long before expiry, so no request ever carries a token that expires on the way. */
const REFRESH_BEFORE_MS = 5 * 60_000;

/** App-only tokens from `@azure/identity` (client secret), one credential per tenant. */
export class IdentityTokenSource implements TokenSource {
  private readonly settings: GraphSettings;
  private readonly scope: string;
  private readonly now: () => number;
  private readonly credentials = new Map<string, ClientSecretCredential>();
  private readonly cached = new Map<string, AccessToken>();
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(settings: GraphSettings, now: () => number = Date.now) {
    this.settings = settings;
    // Tokens are per cloud: the scope is the Graph origin of the configured base URL.
    this.scope = `${new URL(settings.baseUrl).origin}/.default`;
    this.now = now;
  }

  async token(tenantId: string): Promise<string> {
    const cached = this.cached.get(tenantId);
    const now = this.now();
    if (cached && now < cached.expiresOnTimestamp - REFRESH_BEFORE_MS) return cached.token;
    const refresh = this.inFlight.get(tenantId) ?? this.fetch(tenantId);
    // While a refresh runs, a still-valid token keeps serving.
    if (cached && now < cached.expiresOnTimestamp - 30_000) return cached.token;
    return refresh;
  }

  invalidate(tenantId: string): void {
    this.cached.delete(tenantId);
  }

  private fetch(tenantId: string): Promise<string> {
    const promise = (async () => {
      try {
        const token = await this.credential(tenantId).getToken(this.scope);
        this.cached.set(tenantId, token);
        return token.token;
      } catch (err) {
        throw new TokenError(
          `no app-only token for tenant ${tenantId} from ${this.settings.authorityHost}: ${(err as Error).message.split('\n')[0]}. Check AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and the admin consent for Calendars.Read in that tenant.`,
          { cause: err },
        );
      } finally {
        this.inFlight.delete(tenantId);
      }
    })();
    this.inFlight.set(tenantId, promise);
    return promise;
  }

  private credential(tenantId: string): ClientSecretCredential {
    let credential = this.credentials.get(tenantId);
    if (!credential) {
      credential = appCredential(this.settings, tenantId);
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
