import {
  constants,
  createCipheriv,
  createHash,
  createHmac,
  publicEncrypt,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { badRequest } from '../errors.ts';

/** What Graph puts in a rich notification's `encryptedContent`. */
export interface SimEncryptedContent {
  data: string;
  dataSignature: string;
  dataKey: string;
  encryptionCertificateId: string;
  encryptionCertificateThumbprint: string;
}

/**
 * A subscription's encryption certificate as Graph checks it at create and renew: base64 X.509, an RSA key of
 * 2,048 to 4,096 bits (the issuer is not checked: self-signed is fine), and an id of at most 128 characters.
 */
export function checkCertificate(certificate: unknown, id: unknown): X509Certificate {
  if (typeof id !== 'string' || !id.trim() || id.length > 128)
    throw badRequest('encryptionCertificateId must be a string of 1 to 128 characters.', 'InvalidRequest');
  if (typeof certificate !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(certificate))
    throw badRequest('encryptionCertificate must be a base64-encoded X.509 certificate.', 'InvalidRequest');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(certificate, 'base64'));
  } catch {
    throw badRequest('encryptionCertificate is not a valid X.509 certificate.', 'InvalidRequest');
  }
  const bits = cert.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (cert.publicKey.asymmetricKeyType !== 'rsa' || bits < 2048 || bits > 4096)
    throw badRequest('encryptionCertificate must hold an RSA public key of 2048 to 4096 bits.', 'InvalidRequest');
  return cert;
}

/**
 * Encrypts a resource as Graph does for one notification: a fresh 32-byte key, AES-256-CBC (PKCS#7) with the
 * key's first 16 bytes as IV, HMAC-SHA256 of the ciphertext, the key wrapped with RSA-OAEP (SHA-1) for the
 * subscription's certificate.
 */
export function encryptResource(
  resource: Record<string, unknown>,
  certificate: string,
  certificateId: string,
): SimEncryptedContent {
  const der = Buffer.from(certificate, 'base64');
  const cert = new X509Certificate(der);
  const key = randomBytes(32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  const data = Buffer.concat([cipher.update(JSON.stringify(resource), 'utf8'), cipher.final()]);
  return {
    data: data.toString('base64'),
    dataSignature: createHmac('sha256', key).update(data).digest('base64'),
    dataKey: publicEncrypt(
      { key: cert.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
      key,
    ).toString('base64'),
    encryptionCertificateId: certificateId,
    encryptionCertificateThumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
  };
}
