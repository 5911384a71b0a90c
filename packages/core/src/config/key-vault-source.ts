import type { TokenCredential } from '@azure/identity';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { SecretError } from '../errors.ts';
import type { SecretSource } from './secrets.ts';

/** A Key Vault reference as App Service writes it, taken apart. */
export interface KeyVaultReference {
  vaultUrl: string;
  name: string;
  version: string | undefined;
}

const NAME = /^[0-9A-Za-z-]{1,127}$/;

/**
 * `@Microsoft.KeyVault(SecretUri=https://VAULT.vault.azure.net/secrets/NAME[/VERSION])` or
 * `@Microsoft.KeyVault(VaultName=VAULT;SecretName=NAME[;SecretVersion=VERSION])`, App Service's two forms.
 */
export function parseKeyVaultReference(value: string): KeyVaultReference | undefined {
  const inner = /^@Microsoft\.KeyVault\((.*)\)$/i.exec(value.trim())?.[1];
  if (inner === undefined) return undefined;
  const parts = new Map(
    inner.split(';').map((p) => {
      const at = p.indexOf('=');
      return [p.slice(0, at).trim().toLowerCase(), p.slice(at + 1).trim()] as const;
    }),
  );
  const uri = parts.get('secreturi');
  if (uri) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return undefined;
    }
    const [, kind, name, version] = url.pathname.replace(/\/+$/, '').split('/');
    if (url.protocol !== 'https:' || kind !== 'secrets' || !name || !NAME.test(name)) return undefined;
    return { vaultUrl: url.origin, name, version: version || undefined };
  }
  const vault = parts.get('vaultname');
  const name = parts.get('secretname');
  if (!vault || !name || !/^[0-9A-Za-z-]{3,24}$/.test(vault) || !NAME.test(name)) return undefined;
  return { vaultUrl: `https://${vault}.vault.azure.net`, name, version: parts.get('secretversion') || undefined };
}

interface SecretReader {
  getSecret(name: string, options: { version?: string }): Promise<{ value?: string }>;
}

/**
 * Key Vault references resolved at run time with the operator's credential. On the Function App the platform
 * resolves them before the process starts; an environment file copied from the app's settings keeps them as
 * references, so no secret is written to it, and this source reads each one when the CLI starts.
 */
export class KeyVaultSecretSource implements SecretSource {
  readonly scheme = 'keyvault';
  private readonly credential: TokenCredential;
  private readonly options: SecretClientOptions;
  private readonly clients = new Map<string, Promise<SecretReader>>();

  constructor(credential: TokenCredential, options: SecretClientOptions = {}) {
    this.credential = credential;
    this.options = options;
  }

  /** The SDK is imported on the first reference: the functions, which never resolve one, never load it. */
  private client(vaultUrl: string): Promise<SecretReader> {
    let client = this.clients.get(vaultUrl);
    if (!client) {
      client = import('@azure/keyvault-secrets').then(
        ({ SecretClient }) => new SecretClient(vaultUrl, this.credential, this.options),
      );
      this.clients.set(vaultUrl, client);
    }
    return client;
  }

  async resolve(reference: string): Promise<string> {
    const ref = parseKeyVaultReference(reference);
    if (!ref)
      throw new SecretError(
        reference,
        'not a Key Vault reference graph2kafka can read: @Microsoft.KeyVault(VaultName=VAULT;SecretName=NAME) or @Microsoft.KeyVault(SecretUri=https://VAULT.vault.azure.net/secrets/NAME/)',
      );
    const at = `${ref.vaultUrl}/secrets/${ref.name}${ref.version ? `/${ref.version}` : ''}`;
    try {
      const secret = await (
        await this.client(ref.vaultUrl)
      ).getSecret(ref.name, ref.version ? { version: ref.version } : {});
      if (secret.value === undefined) throw new Error('the secret has no value');
      return secret.value;
    } catch (err) {
      const e = err as { statusCode?: number; name?: string; message?: string };
      const why =
        e.statusCode === 404
          ? 'not found'
          : e.statusCode === 403 || e.statusCode === 401
            ? 'permission denied: your identity needs "Key Vault Secrets User" on the vault (Terraform: operator_principal_ids)'
            : (e.message ?? String(err)).split('\n')[0];
      throw new SecretError(reference, `Key Vault secret ${at} could not be read (${why})`, { cause: err });
    }
  }
}
