import { createHash } from 'node:crypto';
import { createRemoteJWKSet, customFetch, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { withTimeout } from '../timeout.ts';
import type { TokenFailure, TokenVerdict } from './rich-types.ts';

/** The "Microsoft Graph Change Tracking" application: the publisher of change notifications. */
export const CHANGE_TRACKING_APP_ID = '0bf30f3b-4a52-48df-9a82-234910c4a086';

const TOKENS_PER_POST = 20;
const TOKEN_CHARS = 16_384;
/** Tokens remembered against replay (each until it expires); past it the oldest are forgotten first. */
const MAX_SEEN = 200_000;

export interface ValidationTokenOptions {
  /** Where the signing keys are published (graph-sim's in tests: the same code, pointed elsewhere). */
  jwksUrl: string;
  /** Our app id(s): the tokens' audience. */
  appIds: readonly string[];
  /** The issuer host: `https://login.microsoftonline.com` for v2.0 tokens; v1.0 tokens are `https://sts.windows.net`. */
  authorityHost?: string;
  publisherAppId?: string;
  /** Fetches the key set (a fetch that trusts graph-sim's CA, in tests). */
  fetch?: typeof fetch;
  /** Seconds of clock skew accepted on `exp`/`nbf`. */
  clockToleranceSeconds?: number;
  /**
   * Records a token's use where every instance sees it (the state store): false when it was used before. Without
   * it, replays are recognised by this instance only.
   */
  claim?: (hash: string, expiresAtMs: number) => Promise<boolean>;
}

/** How long a POST waits for the state store to record its tokens before its items are read instead. */
const CLAIM_WAIT_MS = 1_000;

/**
 * Checks a rich POST's `validationTokens` as Microsoft asks: every token signed by the identity platform
 * (keys from its JWKS, cached, refreshed when a token names a key not seen yet), not expired, for our app id,
 * issued by the token's own tenant, and minted for the change-notification publisher (`azp` in v2.0 tokens,
 * `appid` in v1.0). The verdict names the tenants the tokens cover: an item of any other tenant is not proven.
 */
export class ValidationTokenVerifier {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;
  /** Tokens already used, by hash, with when they expire: a token proves one POST, once. */
  private readonly seen = new Map<string, number>();
  private readonly o: Required<Omit<ValidationTokenOptions, 'fetch' | 'claim'>>;
  private readonly claim: ValidationTokenOptions['claim'];

  constructor(options: ValidationTokenOptions) {
    const { fetch: _fetch, claim, ...rest } = options;
    this.claim = claim;
    this.o = {
      authorityHost: 'https://login.microsoftonline.com',
      publisherAppId: CHANGE_TRACKING_APP_ID,
      clockToleranceSeconds: 300,
      ...rest,
    };
    this.keys = createRemoteJWKSet(new URL(options.jwksUrl), {
      timeoutDuration: 2_000,
      cooldownDuration: 30_000,
      cacheMaxAge: 24 * 3_600_000,
      ...(options.fetch ? { [customFetch]: options.fetch } : {}),
    });
  }

  async verify(tokens: unknown): Promise<TokenVerdict> {
    if (!Array.isArray(tokens) || !tokens.length) return { ok: false, reason: 'missing' };
    if (tokens.length > TOKENS_PER_POST || !tokens.every((t) => typeof t === 'string' && t.length <= TOKEN_CHARS))
      return { ok: false, reason: 'malformed' };
    // Only the one spelling Graph sends: jose also accepts padding, whitespace and the unused low bits of a part's
    // last character, and each of those would be a fresh token to a single-use rule keyed by text.
    const ids = (tokens as string[]).map(tokenIdentity);
    if (ids.some((id) => id === undefined)) return { ok: false, reason: 'malformed' };
    const tenants = new Set<string>();
    // All at once: with warm keys each is microseconds; a cold start fetches the key set once for all.
    const verdicts = await Promise.all((tokens as string[]).map((t) => this.verifyOne(t)));
    for (const v of verdicts) {
      if ('failure' in v) return { ok: false, reason: v.failure };
      tenants.add(v.tenant);
    }
    // Anyone can encrypt content for our public certificate; what the tokens prove is that Graph sent this POST.
    // A POST that reuses tokens (a replay, with a forged item added, say) proves nothing: its items are read.
    const hashes = ids as string[];
    const now = Date.now();
    if (hashes.some((h) => (this.seen.get(h) ?? 0) > now)) return { ok: false, reason: 'replayed' };
    const expiries = verdicts.map((v) => ('expiresAt' in v ? v.expiresAt : now + 3_600_000));
    hashes.forEach((h, i) => this.remember(h, expiries[i]!));
    if (this.claim) {
      const claim = this.claim;
      let first: boolean[];
      try {
        first = await withTimeout(
          Promise.all(hashes.map((h, i) => claim(h, expiries[i]! + this.o.clockToleranceSeconds * 1_000))),
          CLAIM_WAIT_MS,
          () => new Error('the state store did not record the tokens in time'),
        );
      } catch {
        return { ok: false, reason: 'claim_failed' };
      }
      if (first.some((f) => !f)) return { ok: false, reason: 'replayed' };
    }
    return { ok: true, tenants };
  }

  private remember(hash: string, expiresAt: number): void {
    if (this.seen.size >= MAX_SEEN) {
      const now = Date.now();
      for (const [h, exp] of this.seen) if (exp <= now) this.seen.delete(h);
      while (this.seen.size >= MAX_SEEN) this.seen.delete(this.seen.keys().next().value!);
    }
    this.seen.set(hash, expiresAt + this.o.clockToleranceSeconds * 1_000);
  }

  /** One token: its tenant (lower-case) when valid, else why not. */
  private async verifyOne(token: string): Promise<{ tenant: string; expiresAt: number } | { failure: TokenFailure }> {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      return { failure: 'malformed' };
    }
    // The issuer names the tenant the token was issued in; `tid` must agree (checked by the issuer match).
    const tid = typeof claims.tid === 'string' ? claims.tid : undefined;
    if (!tid) return { failure: 'malformed' };
    const v1 = claims.ver === '1.0';
    const issuer = v1 ? `https://sts.windows.net/${tid}/` : `${this.o.authorityHost}/${tid}/v2.0`;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        algorithms: ['RS256'],
        audience: [...this.o.appIds],
        issuer,
        clockTolerance: this.o.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (err) {
      return { failure: failure(err) };
    }
    const caller = v1 ? payload.appid : payload.azp;
    return caller === this.o.publisherAppId
      ? { tenant: tid.toLowerCase(), expiresAt: (payload.exp ?? 0) * 1_000 }
      : { failure: 'wrong_publisher' };
  }
}

function failure(err: unknown): TokenFailure {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed)
    return err.claim === 'aud' ? 'wrong_audience' : err.claim === 'iss' ? 'wrong_issuer' : 'malformed';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'keys_unavailable';
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey)
    return 'bad_signature';
  if (err instanceof TypeError || (err as { code?: string }).code === 'ERR_JOSE_GENERIC') return 'keys_unavailable';
  return 'malformed';
}

const PART = /^[A-Za-z0-9_-]+$/;

/**
 * A token's identity for the single-use rule: the hash of its decoded signature, which no re-spelling of the same
 * signed token changes. Undefined unless the token is in canonical compact serialisation: three unpadded
 * base64url parts, each the exact encoding of its bytes.
 */
export function tokenIdentity(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  for (const part of parts)
    if (!PART.test(part) || Buffer.from(part, 'base64url').toString('base64url') !== part) return undefined;
  return createHash('sha256').update(Buffer.from(parts[2]!, 'base64url')).digest('base64url');
}
