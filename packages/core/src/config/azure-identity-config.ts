import { detectedMode, type AzureIdentitySettings } from '../azure/azure-identity.ts';
import { GUID, shown, type EnvReader } from './env-reader.ts';

const MODES = ['auto', 'managed', 'developer'] as const;

/** Who reaches Azure resources by identity: the function's managed identity, or the operator's own sign-in. */
export function readAzureIdentity(r: EnvReader): AzureIdentitySettings {
  const raw = r.env.G2K_AZURE_CREDENTIAL?.trim().toLowerCase() || 'auto';
  if (!(MODES as readonly string[]).includes(raw))
    r.problems.push(`G2K_AZURE_CREDENTIAL must be auto, managed or developer, got ${shown(raw)}.`);
  const mode = raw === 'managed' || raw === 'developer' ? raw : detectedMode(r.env);
  const guid = (name: 'G2K_MANAGED_IDENTITY_CLIENT_ID' | 'G2K_OPERATOR_CLIENT_ID' | 'G2K_OPERATOR_TENANT_ID') => {
    const value = r.env[name]?.trim();
    if (value && !GUID.test(value)) r.problems.push(`${name} must be a GUID, got ${shown(value)}.`);
    return value || undefined;
  };
  const managedClientId = guid('G2K_MANAGED_IDENTITY_CLIENT_ID');
  const operatorClientId = guid('G2K_OPERATOR_CLIENT_ID');
  const operatorTenantId = guid('G2K_OPERATOR_TENANT_ID');
  return {
    mode,
    ...(managedClientId ? { managedClientId } : {}),
    ...(operatorClientId ? { operatorClientId } : {}),
    ...(operatorTenantId ? { operatorTenantId } : {}),
  };
}
