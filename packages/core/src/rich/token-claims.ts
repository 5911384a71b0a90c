import { Collection, defineCollection } from '../state/collection.ts';
import type { DocumentStore } from '../state/document-types.ts';

/** A rich POST's validation token (by hash) that was used, remembered until it expires. */
export interface TokenClaim {
  hash: string;
  expiresAt: string;
}

export const tokenClaimCollection = defineCollection<TokenClaim>({
  name: 'token',
  folder: 'tokens',
  id: (claim) => claim.hash,
  index: 'expiresAt',
  // Claims of earlier versions hold only `expiresAt`: the hash is the id they are stored under.
  upgrade: (raw, id) => ({ ...(raw as unknown as TokenClaim), hash: id }),
});

/** Listed and forgotten per timer run at most; the rest waits for the next. */
const PRUNE_BATCH = 5_000;
const DELETES_AT_ONCE = 16;

/**
 * Validation-token claims across instances: a token proves one POST, once. True the first time a hash is
 * claimed, false when any instance claimed it before.
 */
export class TokenClaims {
  private readonly claims: Collection<TokenClaim>;

  constructor(store: DocumentStore) {
    this.claims = new Collection(store, tokenClaimCollection);
  }

  claim(hash: string, expiresAt: string): Promise<boolean> {
    return this.claims.createIfAbsent({ hash, expiresAt });
  }

  /** Forgets claims that expired before `now` (the timer); how many went. */
  async prune(now: string): Promise<number> {
    const expired = (await this.claims.list({ indexAtMost: now, limit: PRUNE_BATCH })).filter((c) => c.expiresAt < now);
    // A few deletes at a time: a busy hour's claims are thousands of round trips to a remote database.
    for (let i = 0; i < expired.length; i += DELETES_AT_ONCE)
      await Promise.all(expired.slice(i, i + DELETES_AT_ONCE).map((c) => this.claims.delete(c.hash)));
    return expired.length;
  }
}
