import type { EnvReader } from './env-reader.ts';

/** The keys dead letters are signed with (HMAC-SHA256): the current one signs, both are accepted on replay. */
export interface DeadLetterKeys {
  current: Buffer;
  /** During a rotation: the key letters still in the topic were signed with. */
  previous: Buffer | undefined;
}

/** HMAC-SHA256 keys shorter than its 32-byte output give away strength for nothing. */
const MIN_KEY_CHARS = 32;

/**
 * G2K_DEAD_LETTER_KEY and G2K_DEAD_LETTER_PREVIOUS_KEY: secrets (a Key Vault reference on Azure, `sm:` on GCP).
 * Unset, letters are written unsigned and a replay re-verifies them only.
 */
export async function readDeadLetterKeys(r: EnvReader): Promise<DeadLetterKeys | undefined> {
  const current = await r.secret('G2K_DEAD_LETTER_KEY', false);
  const previous = await r.secret('G2K_DEAD_LETTER_PREVIOUS_KEY', false);
  for (const [name, key] of [
    ['G2K_DEAD_LETTER_KEY', current],
    ['G2K_DEAD_LETTER_PREVIOUS_KEY', previous],
  ] as const)
    if (key && key.length < MIN_KEY_CHARS)
      r.problems.push(
        `${name} must be at least ${MIN_KEY_CHARS} characters (${key.length} given); make one with: openssl rand -base64 32`,
      );
  if (previous && !current)
    r.problems.push(
      'G2K_DEAD_LETTER_PREVIOUS_KEY is set without G2K_DEAD_LETTER_KEY: set the new key there, and keep the old one as the previous key until the letters it signed are replayed.',
    );
  if (!current) return undefined;
  return { current: Buffer.from(current, 'utf8'), previous: previous ? Buffer.from(previous, 'utf8') : undefined };
}
