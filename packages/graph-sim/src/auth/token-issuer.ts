import { errors, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import type { SimClock } from '../clock.ts';
import { GraphError } from '../errors.ts';
import { guid } from '../ids.ts';
import type { SeededRandom } from '../random.ts';
import type { Principal } from '../types.ts';

/** Graph's resource id; v1 access tokens for Graph carry it (or its URI) as the audience. */
export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
/** The "Microsoft Graph Change Tracking" application, which sends change notifications. */
export const CHANGE_TRACKING_APP_ID = '0bf30f3b-4a52-48df-9a82-234910c4a086';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface IssuedToken {
  accessToken: string;
  expiresInSeconds: number;
}

/**
 * Signs and checks app-only access tokens, RS256 with a key made at start (published as JWKS). Expiry is
 * judged against the simulated clock, so a fast clock expires tokens as Entra would.
 */
export class TokenIssuer {
  private readonly privateKey: SigningKey;
  private readonly publicKey: SigningKey;
  readonly jwk: JWK;
  private readonly clock: SimClock;
  private readonly random: SeededRandom;
  private readonly lifetime: { min: number; max: number };
  private constructor(
    privateKey: SigningKey,
    publicKey: SigningKey,
    jwk: JWK,
    clock: SimClock,
    random: SeededRandom,
    lifetime: { min: number; max: number },
  ) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.jwk = jwk;
    this.clock = clock;
    this.random = random;
    this.lifetime = lifetime;
  }

  static async create(
    clock: SimClock,
    random: SeededRandom,
    lifetime: { min: number; max: number },
  ): Promise<TokenIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: guid(), use: 'sig', alg: 'RS256' };
    return new TokenIssuer(privateKey, publicKey, jwk, clock, random, lifetime);
  }

  async issue(appId: string, tenantId: string, servicePrincipalId: string): Promise<IssuedToken> {
    const nowSec = Math.floor(this.clock.now() / 1000);
    const { min, max } = this.lifetime;
    const expiresInSeconds = Math.round((min + this.random.next() * (max - min)) * 60);
    const accessToken = await new SignJWT({
      appid: appId,
      appidacr: '1',
      idp: `https://sts.windows.net/${tenantId}/`,
      oid: servicePrincipalId,
      sub: servicePrincipalId,
      roles: ['Calendars.Read'],
      tid: tenantId,
      uti: guid(),
      ver: '1.0',
      app_displayname: 'graph-sim app',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.jwk.kid! })
      .setIssuer(`https://sts.windows.net/${tenantId}/`)
      .setAudience(GRAPH_AUDIENCE)
      .setIssuedAt(nowSec)
      .setNotBefore(nowSec)
      .setExpirationTime(nowSec + expiresInSeconds)
      .setJti(guid())
      .sign(this.privateKey);
    return { accessToken, expiresInSeconds };
  }

  /**
   * A rich notification's validation token, as Microsoft's identity platform mints it for the change-tracking
   * publisher: v2.0, issued in the tenant, for the subscribing app, `azp` the publisher's app id, an hour long.
   * `forge` signs with another key or bends one claim, for the tests of a receiver's checks.
   */
  async validationToken(
    appId: string,
    tenantId: string,
    authority: string,
    forge: { claims?: Record<string, unknown>; expiredSecondsAgo?: number; key?: SigningKey } = {},
  ): Promise<string> {
    const nowSec = Math.floor(this.clock.now() / 1000);
    const exp = forge.expiredSecondsAgo !== undefined ? nowSec - forge.expiredSecondsAgo : nowSec + 3_600;
    return new SignJWT({
      azp: CHANGE_TRACKING_APP_ID,
      azpacr: '2',
      tid: tenantId,
      uti: guid(),
      ver: '2.0',
      ...forge.claims,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.jwk.kid! })
      .setIssuer(`${authority}/${tenantId}/v2.0`)
      .setAudience(appId)
      .setIssuedAt(Math.min(nowSec, exp - 3_600))
      .setNotBefore(Math.min(nowSec, exp - 3_600))
      .setExpirationTime(exp)
      .sign(forge.key ?? this.privateKey);
  }

  /** The caller behind an `Authorization` header, or Graph's 401 for a missing, expired or foreign token. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '');
    if (!match) throw invalidToken('Access token is empty.');
    try {
      const { payload } = await jwtVerify(match[1]!, this.publicKey, {
        algorithms: ['RS256'],
        audience: [GRAPH_AUDIENCE, GRAPH_APP_ID],
        currentDate: new Date(this.clock.now()),
      });
      const tenantId = typeof payload.tid === 'string' ? payload.tid : '';
      const appId = typeof payload.appid === 'string' ? payload.appid : '';
      if (!tenantId || !appId || payload.iss !== `https://sts.windows.net/${tenantId}/`) {
        throw invalidToken('Access token validation failure. Invalid issuer.');
      }
      return { appId, tenantId, tokenId: typeof payload.jti === 'string' ? payload.jti : '' };
    } catch (err) {
      if (err instanceof GraphError) throw err;
      if (err instanceof errors.JWTExpired) throw invalidToken('Lifetime validation failed, the token is expired.');
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'aud') {
        throw invalidToken('Access token validation failure. Invalid audience.');
      }
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') {
        throw invalidToken('Lifetime validation failed, the token is not yet valid.');
      }
      throw invalidToken('Access token validation failure.');
    }
  }
}

const invalidToken = (message: string): GraphError =>
  new GraphError(401, 'InvalidAuthenticationToken', message, {
    'WWW-Authenticate': 'Bearer realm="", error="invalid_token"',
  });
