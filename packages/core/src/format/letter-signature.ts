import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DeadLetterKeys } from '../config/dead-letter-config.ts';

const SCHEME = 'hmac-sha256=';

/** What a letter's signature says: made by one of our keys, by none of them, or absent (an older version's). */
export type SignatureCheck = 'valid' | 'invalid' | 'unsigned';

/**
 * Signs the dead letters graph2kafka writes and checks them on replay. The MAC covers the value's bytes exactly
 * as written (no re-serialisation to agree on); the value names the topic, key, tenant, kind, mailbox, folder and
 * item, so none of them can be changed without the key.
 */
export class LetterSigner {
  private readonly keys: DeadLetterKeys;

  constructor(keys: DeadLetterKeys) {
    this.keys = keys;
  }

  /** The header value for a letter's value. */
  sign(value: string): string {
    return `${SCHEME}${mac(this.keys.current, Buffer.from(value, 'utf8')).toString('base64url')}`;
  }

  check(value: Buffer | null, header: string | undefined): SignatureCheck {
    if (header === undefined) return 'unsigned';
    if (!header.startsWith(SCHEME) || value === null) return 'invalid';
    const given = Buffer.from(header.slice(SCHEME.length), 'base64url');
    const keys = this.keys.previous ? [this.keys.current, this.keys.previous] : [this.keys.current];
    // Every key is tried whatever the first gave, so the time taken says nothing about which one matched.
    let valid = false;
    for (const key of keys) {
      const expected = mac(key, value);
      if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
    }
    return valid ? 'valid' : 'invalid';
  }
}

const mac = (key: Buffer, value: Buffer): Buffer => createHmac('sha256', key).update(value).digest();
