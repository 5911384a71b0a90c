import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { Config } from '../config/config.ts';

export type SchedulerVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/**
 * The GCP renewal endpoint is private: only Cloud Scheduler's OIDC token (Google-signed, for our audience,
 * from our invoker service account) gets through. 401 for a missing or invalid token, 403 for a valid token
 * meant for someone else.
 */
export async function verifySchedulerToken(
  authorization: string | undefined,
  auth: Config['renewalAuth'],
): Promise<SchedulerVerdict> {
  if (!auth) return { ok: false, status: 403, reason: 'the renewal endpoint is disabled: set G2K_RENEWAL_AUDIENCE' };
  const token = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
  if (!token) return { ok: false, status: 401, reason: 'a Bearer OIDC token is required' };
  let keys = keySets.get(auth.jwksUrl);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(auth.jwksUrl));
    keySets.set(auth.jwksUrl, keys);
  }
  try {
    const { payload } = await jwtVerify(token, keys, { issuer: auth.issuer, algorithms: ['RS256'] });
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.includes(auth.audience))
      return { ok: false, status: 403, reason: 'the token is for another audience' };
    if (payload.email !== auth.invoker || payload.email_verified === false) {
      return { ok: false, status: 403, reason: 'the token is not from the configured invoker' };
    }
    return { ok: true };
  } catch (err) {
    const reason =
      err instanceof errors.JWTExpired
        ? 'the token expired'
        : err instanceof errors.JWTClaimValidationFailed
          ? `the token's ${err.claim} is wrong`
          : 'the token is not valid';
    return { ok: false, status: 401, reason };
  }
}
