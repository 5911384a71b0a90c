import { constants, createDecipheriv, createHmac, privateDecrypt, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { DecryptResult, EncryptedContent } from './rich-types.ts';

/** Private keys by `encryptionCertificateId`: the current certificate's and, during a rotation, the previous. */
export type KeyRing = ReadonlyMap<string, KeyObject>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Larger than any resource Graph sends inside a notification (Graph's own limit for a POST is 1 MB). */
const MAX_DATA_CHARS = 1_500_000;

const isContent = (c: unknown): c is EncryptedContent => {
  const o = c as Record<string, unknown> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    ['data', 'dataSignature', 'dataKey'].every((k) => typeof o[k] === 'string' && BASE64.test(o[k])) &&
    typeof o.encryptionCertificateId === 'string' &&
    (o.data as string).length <= MAX_DATA_CHARS
  );
};

/**
 * Decrypts a rich notification's resource as Microsoft documents it: the symmetric key unwrapped with our
 * private key (RSA-OAEP, SHA-1), the data's HMAC-SHA256 checked in constant time *before* anything is
 * decrypted, then AES-256-CBC (PKCS#7) with the key's first 16 bytes as IV. Never throws: every failure has a
 * reason, and a caller must produce nothing from a failed item.
 */
export function decryptContent(content: unknown, keys: KeyRing): DecryptResult {
  if (!isContent(content)) return { ok: false, reason: 'malformed' };
  const key = keys.get(content.encryptionCertificateId);
  if (!key) return { ok: false, reason: 'unknown_key' };
  let symmetric: Buffer;
  try {
    symmetric = privateDecrypt(
      { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
      Buffer.from(content.dataKey, 'base64'),
    );
  } catch {
    return { ok: false, reason: 'bad_key' };
  }
  if (symmetric.length !== 32) return { ok: false, reason: 'bad_key' };
  const data = Buffer.from(content.data, 'base64');
  const expected = createHmac('sha256', symmetric).update(data).digest();
  const given = Buffer.from(content.dataSignature, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad_signature' };
  try {
    const decipher = createDecipheriv('aes-256-cbc', symmetric, symmetric.subarray(0, 16));
    const json = Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    const resource = JSON.parse(json) as unknown;
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource))
      return { ok: false, reason: 'bad_data' };
    return { ok: true, resource: resource as Record<string, unknown> };
  } catch {
    return { ok: false, reason: 'bad_data' };
  }
}
