import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { SecretError } from '../errors.ts';

/**
 * Resolves a secret reference to its value. Settings that hold secrets may be given as a reference
 * (`sm:projects/P/secrets/S/versions/V`) instead of the value itself.
 */
export interface SecretSource {
  readonly scheme: string;
  resolve(reference: string): Promise<string>;
}

/** A reference this project understands: `<scheme>:<name>`. */
export function parseReference(value: string): { scheme: string; name: string } | undefined {
  const match = /^(sm):(.+)$/.exec(value);
  return match ? { scheme: match[1]!, name: match[2]! } : undefined;
}

/** Azure App Service resolves Key Vault references before the process starts; one left as text failed there. */
export function unresolvedKeyVaultReference(value: string): boolean {
  return value.startsWith('@Microsoft.KeyVault(');
}

/** Google Secret Manager, through the official client (ADC credentials on Cloud Functions). */
export class GoogleSecretManagerSource implements SecretSource {
  readonly scheme = 'sm';
  private readonly client: { accessSecretVersion(req: { name: string }): Promise<unknown> };

  constructor(client: { accessSecretVersion(req: { name: string }): Promise<unknown> }) {
    this.client = client;
  }

  /** The client is imported lazily so that Azure deployments never load the Google SDK. */
  static async create(
    options: ConstructorParameters<typeof SecretManagerServiceClient>[0] = {},
  ): Promise<GoogleSecretManagerSource> {
    let Client: typeof SecretManagerServiceClient;
    try {
      ({ SecretManagerServiceClient: Client } = await import('@google-cloud/secret-manager'));
    } catch (err) {
      // The Azure deploy bundle does not ship the Google SDK: say so instead of a bare module-not-found.
      throw new SecretError(
        'sm:',
        'sm: secret references need @google-cloud/secret-manager, which only the GCP deployment installs; ' +
          `on Azure, use Key Vault references in app settings instead (${(err as Error).message})`,
        { cause: err },
      );
    }
    return new GoogleSecretManagerSource(new Client(options));
  }

  async resolve(name: string): Promise<string> {
    if (!/^projects\/[^/]+\/secrets\/[^/]+\/versions\/[^/]+$/.test(name)) {
      throw new SecretError(
        name,
        `secret reference 'sm:${name}' must name a version: sm:projects/PROJECT/secrets/NAME/versions/latest`,
      );
    }
    try {
      const [version] = (await this.client.accessSecretVersion({ name })) as [
        { payload?: { data?: Uint8Array | string | null } },
      ];
      const data = version.payload?.data;
      if (data === undefined || data === null) throw new Error('the secret version has no payload');
      return typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
    } catch (err) {
      const e = err as { code?: number | string; message?: string };
      const why =
        e.code === 5 || e.code === 404
          ? 'not found'
          : e.code === 7 || e.code === 403
            ? 'permission denied'
            : (e.message ?? String(err));
      throw new SecretError(
        name,
        `secret sm:${name} could not be read (${why}); check the name and that the function's service account (from your machine: the account of \`gcloud auth application-default login\`) has roles/secretmanager.secretAccessor on it`,
      );
    }
  }
}
