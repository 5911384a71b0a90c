import {
  AggregateAuthenticationError,
  AzureCliCredential,
  AzureDeveloperCliCredential,
  ChainedTokenCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from '@azure/identity';
import { AzureCredentialError } from '../errors.ts';
import type { AzureIdentitySettings } from './azure-identity.ts';

/** What an operator does when no credential of the chain could sign in. */
const SIGN_IN_HINT =
  'run `az login` (or `azd auth login`) as an operator granted the roles in docs/operations.md ' +
  '("Reaching production state from your machine"); on a CI runner or an ops host, set G2K_OPERATOR_CLIENT_ID ' +
  '(with AZURE_FEDERATED_TOKEN_FILE for workload identity, or a user-assigned managed identity of the host)';

/**
 * The operator's credential chain: the Azure CLI's and Azure Developer CLI's sign-in, then workload identity, then
 * the host's managed identity. Not DefaultAzureCredential: its EnvironmentCredential and WorkloadIdentityCredential
 * read AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, which here name the Graph app (it holds no Azure role, and its
 * secret is a Key Vault reference in an operator's environment file), and a failing EnvironmentCredential ends
 * the chain before the operator's own sign-in is tried.
 */
function developerChain(settings: AzureIdentitySettings, env: Record<string, string | undefined>): TokenCredential {
  const chain: TokenCredential[] = [new AzureCliCredential(), new AzureDeveloperCliCredential()];
  const tokenFile = env.AZURE_FEDERATED_TOKEN_FILE?.trim();
  const tenantId = settings.operatorTenantId ?? env.AZURE_TENANT_ID?.trim();
  if (tokenFile && settings.operatorClientId && tenantId)
    chain.push(
      new WorkloadIdentityCredential({ clientId: settings.operatorClientId, tenantId, tokenFilePath: tokenFile }),
    );
  chain.push(
    settings.operatorClientId
      ? new ManagedIdentityCredential({ clientId: settings.operatorClientId })
      : new ManagedIdentityCredential(),
  );
  return new ChainedTokenCredential(...chain);
}

/** Says, when the whole chain failed, what the operator should do; each credential's own reason is kept. */
class OperatorCredential implements TokenCredential {
  private readonly chain: TokenCredential;

  constructor(chain: TokenCredential) {
    this.chain = chain;
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    try {
      return await this.chain.getToken(scopes, options);
    } catch (err) {
      if (!(err instanceof AggregateAuthenticationError)) throw err;
      const reasons = err.errors.map((e) => (e as Error).message.split('\n')[0]).join('; ');
      throw new AzureCredentialError(`no Azure credential: ${SIGN_IN_HINT} (${reasons})`, { cause: err });
    }
  }
}

/**
 * The credential for Azure resources reached by identity. `managed` is the function's own path, unchanged: the
 * managed identity explicitly, never DefaultAzureCredential (see developerChain for why).
 */
export function azureCredential(
  settings: AzureIdentitySettings,
  env: Record<string, string | undefined> = process.env,
): TokenCredential {
  if (settings.mode === 'managed')
    return settings.managedClientId
      ? new ManagedIdentityCredential({ clientId: settings.managedClientId })
      : new ManagedIdentityCredential();
  return new OperatorCredential(developerChain(settings, env));
}
