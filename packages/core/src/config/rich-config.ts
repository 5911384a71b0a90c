import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { shown, type EnvReader } from './env-reader.ts';

/** One encryption key graph2kafka holds: its certificate id and private key (and, for the current one, the certificate). */
export interface RichKey {
  id: string;
  key: KeyObject;
}

/** Rich notifications: the certificate new and renewed subscriptions use, the keys accepted, the token check. */
export interface RichSettings {
  current: RichKey & { certificate: string };
  /** During a rotation: the key of the certificate subscriptions used before, still accepted. */
  previous: RichKey | undefined;
  jwksUrl: string;
}

const CERT_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The certificate as base64 DER, from base64 DER or PEM; undefined when it is neither. */
function certificateDer(value: string): Buffer | undefined {
  const base64 = value.includes('BEGIN CERTIFICATE')
    ? value.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '')
    : value.replace(/\s+/g, '');
  try {
    return new X509Certificate(Buffer.from(base64, 'base64')).raw;
  } catch {
    return undefined;
  }
}

/**
 * G2K_RICH_*: set when any desired entry asks for `mode: "rich"`. The private keys are secrets (Key Vault
 * references on Azure, `sm:` references on GCP); the certificate is public. The current key must be the
 * certificate's, checked here, so a mismatch is a configuration error rather than undecryptable notifications.
 */
export async function readRich(r: EnvReader, wanted: boolean): Promise<RichSettings | undefined> {
  const configured = !!r.env.G2K_RICH_CERTIFICATE_ID?.trim();
  if (!configured) {
    if (wanted)
      r.problems.push(
        'a desired-state entry asks for mode "rich", but G2K_RICH_CERTIFICATE_ID, G2K_RICH_CERTIFICATE and G2K_RICH_PRIVATE_KEY are not set: create them with `graph2kafka cert create` (see docs/rich-notifications.md).',
      );
    return undefined;
  }
  const readKey = async (
    idName: 'G2K_RICH_CERTIFICATE_ID' | 'G2K_RICH_PREVIOUS_CERTIFICATE_ID',
    keyName: 'G2K_RICH_PRIVATE_KEY' | 'G2K_RICH_PREVIOUS_PRIVATE_KEY',
  ): Promise<RichKey | undefined> => {
    const id = r.text(idName);
    if (id && !CERT_ID.test(id))
      r.problems.push(`${idName} must be 1 to 128 letters, digits, '.', '_' or '-', got ${shown(id)}.`);
    const pem = await r.secret(keyName, true);
    if (!pem) return undefined;
    try {
      return { id, key: createPrivateKey(pem.replace(/\\n/g, '\n')) };
    } catch {
      r.problems.push(
        `${keyName} is not a PEM private key (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY").`,
      );
      return undefined;
    }
  };
  const current = await readKey('G2K_RICH_CERTIFICATE_ID', 'G2K_RICH_PRIVATE_KEY');
  const der = certificateDer(r.text('G2K_RICH_CERTIFICATE'));
  if (!der) r.problems.push('G2K_RICH_CERTIFICATE must be the X.509 certificate, base64 DER or PEM.');
  if (current && der) {
    const certKey = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
    const ownKey = createPublicKey(current.key).export({ type: 'spki', format: 'der' });
    if (!certKey.equals(ownKey))
      r.problems.push(
        'G2K_RICH_PRIVATE_KEY is not the key of G2K_RICH_CERTIFICATE: Graph would encrypt to a key graph2kafka does not hold.',
      );
  }
  const previous = r.env.G2K_RICH_PREVIOUS_CERTIFICATE_ID?.trim()
    ? await readKey('G2K_RICH_PREVIOUS_CERTIFICATE_ID', 'G2K_RICH_PREVIOUS_PRIVATE_KEY')
    : undefined;
  if (previous && current && previous.id === current.id)
    r.problems.push('G2K_RICH_PREVIOUS_CERTIFICATE_ID names the current certificate; a rotation needs a new id.');
  const jwksUrl = r.url('G2K_RICH_JWKS_URL', MICROSOFT_JWKS_URL);
  if (!current || !der) return undefined;
  return { current: { ...current, certificate: der.toString('base64') }, previous, jwksUrl };
}

/** Microsoft identity platform's signing keys (rotated daily; jose caches them and refetches on an unknown kid). */
export const MICROSOFT_JWKS_URL = 'https://login.microsoftonline.com/common/discovery/v2.0/keys';
