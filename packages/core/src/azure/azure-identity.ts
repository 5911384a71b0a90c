/**
 * Who graph2kafka is when it reaches Azure resources by identity (Table Storage, Event Hubs with
 * `KAFKA_OAUTH_IDENTITY=managed`, Key Vault references): the Function App's managed identity when it runs as the
 * function, the operator's own sign-in when it runs anywhere else (the ops CLI on a laptop, a CI job).
 */
export type AzureCredentialMode = 'managed' | 'developer';

export interface AzureIdentitySettings {
  mode: AzureCredentialMode;
  /** The Function App's user-assigned identity (`managed`); empty: system-assigned. */
  managedClientId?: string;
  /** An operator's workload identity or ops host's user-assigned identity (`developer`, after the CLIs). */
  operatorClientId?: string;
  /** The tenant of that workload identity; empty: the Graph app's home tenant. */
  operatorTenantId?: string;
}

/**
 * Where App Service and Azure Functions run: the platform sets these for every app, never as app settings, so an
 * environment file copied from the app's settings does not make a laptop look like the function.
 */
const PLATFORM_MARKERS = ['IDENTITY_ENDPOINT', 'MSI_ENDPOINT', 'WEBSITE_INSTANCE_ID'] as const;

/** `auto` picks the managed identity on Azure's platform and the operator's sign-in elsewhere. */
export function detectedMode(env: Record<string, string | undefined>): AzureCredentialMode {
  return PLATFORM_MARKERS.some((name) => env[name]?.trim()) ? 'managed' : 'developer';
}
