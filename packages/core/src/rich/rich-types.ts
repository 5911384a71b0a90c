/** Graph's `encryptedContent` of a rich notification (changeNotificationEncryptedContent, v1.0). */
export interface EncryptedContent {
  /** The resource's JSON, AES-256-CBC encrypted with the symmetric key, base64. */
  data: string;
  /** HMAC-SHA256 of the encrypted `data` bytes with the symmetric key, base64. */
  dataSignature: string;
  /** The symmetric key, RSA-OAEP (SHA-1) encrypted with our certificate's public key, base64. */
  dataKey: string;
  /** Our name for the certificate (and so the private key) it was encrypted for. */
  encryptionCertificateId: string;
  encryptionCertificateThumbprint?: string;
}

/**
 * Why a rich notification's content was not used: `unknown_key` (encrypted for a certificate id graph2kafka
 * holds no key for), `bad_key` (the wrapped key does not unwrap with ours), `bad_signature` (the data's HMAC does
 * not match: tampered, never decrypted), `bad_data` (decrypts to something that is not a JSON object).
 */
export type DecryptFailure = 'malformed' | 'unknown_key' | 'bad_key' | 'bad_signature' | 'bad_data';

export type DecryptResult = { ok: true; resource: Record<string, unknown> } | { ok: false; reason: DecryptFailure };

/** Why a POST's validationTokens do not prove that Graph sent it. */
export type TokenFailure =
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'wrong_publisher'
  | 'keys_unavailable'
  /** Every check passed, but the token was used before (here or, through the state store, elsewhere). */
  | 'replayed'
  /** The state store could not record the token's use in time: the POST's items are read instead. */
  | 'claim_failed';

export type TokenVerdict = { ok: true; tenants: Set<string> } | { ok: false; reason: TokenFailure };
