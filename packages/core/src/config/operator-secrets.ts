import { azureCredential } from '../azure/azure-credential.ts';
import { readAzureIdentity } from './azure-identity-config.ts';
import { EnvReader, type Env } from './env-reader.ts';
import { KeyVaultSecretSource } from './key-vault-source.ts';
import { GoogleSecretManagerSource, unresolvedKeyVaultReference, type SecretSource } from './secrets.ts';

/**
 * The secret sources a process outside the functions needs for its settings (the ops CLI): Secret Manager for
 * `sm:` references, with Application Default Credentials (`gcloud auth application-default login` on a laptop);
 * Key Vault for App Service's references when it runs with the operator's Azure sign-in. Each is made only when a
 * setting is such a reference, so neither SDK loads otherwise.
 */
export async function operatorSecretSources(env: Env): Promise<SecretSource[]> {
  const values = Object.values(env).map((v) => v?.trim() ?? '');
  const sources: SecretSource[] = [];
  if (values.some((v) => v.startsWith('sm:'))) sources.push(await GoogleSecretManagerSource.create());
  if (values.some(unresolvedKeyVaultReference)) {
    // A wrong G2K_AZURE_CREDENTIAL is reported with every other problem by loadConfig.
    const identity = readAzureIdentity(new EnvReader(env, []));
    if (identity.mode === 'developer') sources.push(new KeyVaultSecretSource(azureCredential(identity, env)));
  }
  return sources;
}
