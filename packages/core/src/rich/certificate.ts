import { createHash, X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

/** A key pair and self-signed certificate for rich notifications: Graph encrypts to it and checks no issuer. */
export interface EncryptionCertificate {
  /** The name graph2kafka gives it: a subscription's `encryptionCertificateId`, and the key's name in the ring. */
  id: string;
  /** The X.509 certificate, DER as base64: what a subscription's `encryptionCertificate` carries. */
  certificate: string;
  /** The private key, PKCS#8 PEM: it belongs in Key Vault or Secret Manager, never in a file of the bundle. */
  privateKeyPem: string;
  /** SHA-1 of the DER, upper-case hex: Graph's `encryptionCertificateThumbprint`. */
  thumbprint: string;
  notAfter: string;
}

/** Makes a certificate for `id` (RSA, 2,048–4,096 bits; Graph accepts that range), valid `days` from now. */
export async function createEncryptionCertificate(id: string, bits = 2048, days = 365): Promise<EncryptionCertificate> {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(id))
    throw new Error(`a certificate id must be 1 to 128 letters, digits, '.', '_' or '-', got '${id}'`);
  if (bits < 2048 || bits > 4096) throw new Error(`Graph accepts RSA keys of 2048 to 4096 bits, not ${bits}`);
  const pems = await generate([{ name: 'commonName', value: `graph2kafka rich notifications ${id}` }], {
    keySize: bits,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + days * 86_400_000),
  });
  const cert = new X509Certificate(pems.cert);
  return {
    id,
    certificate: cert.raw.toString('base64'),
    privateKeyPem: pems.private,
    thumbprint: createHash('sha1').update(cert.raw).digest('hex').toUpperCase(),
    notAfter: new Date(cert.validTo).toISOString(),
  };
}
