import type { GraphSettings } from './config-types.ts';
import { GUID, shown, type EnvReader } from './env-reader.ts';

/** Graph and Entra ID: where to call, as which app; and the tenants named explicitly as allowed. */
export async function readGraph(
  r: EnvReader,
): Promise<{ graph: GraphSettings; explicitTenants: boolean; allowed: string[] }> {
  const homeTenantId = r.text('AZURE_TENANT_ID');
  if (homeTenantId && !GUID.test(homeTenantId))
    r.problems.push(`AZURE_TENANT_ID must be the tenant's GUID, got ${shown(homeTenantId)}.`);
  const clientId = r.text('AZURE_CLIENT_ID');
  if (clientId && !GUID.test(clientId))
    r.problems.push(`AZURE_CLIENT_ID must be the app's GUID (Application (client) ID), got ${shown(clientId)}.`);
  const explicitTenants = r.env.G2K_ALLOWED_TENANTS?.trim();
  const allowed = (explicitTenants || homeTenantId)
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  // Without an explicit list the home tenant is the list, and AZURE_TENANT_ID's own check covers it.
  if (explicitTenants)
    for (const t of allowed)
      if (!GUID.test(t)) r.problems.push(`G2K_ALLOWED_TENANTS must list tenant GUIDs, got ${shown(t)}.`);

  return {
    graph: {
      baseUrl: r.url('GRAPH_BASE_URL', 'https://graph.microsoft.com/v1.0'),
      authorityHost: r.url('AZURE_AUTHORITY_HOST', 'https://login.microsoftonline.com'),
      homeTenantId: homeTenantId.toLowerCase(),
      clientId,
      clientSecret: await r.secret('AZURE_CLIENT_SECRET', true),
      caPem: r.file('G2K_GRAPH_CA_FILE'),
      batchConcurrency: r.int('G2K_GRAPH_BATCH_CONCURRENCY', 4, 1, 32),
      batchLingerMs: r.int('G2K_GRAPH_BATCH_LINGER_MS', 40, 0, 500),
    },
    explicitTenants: !!explicitTenants,
    allowed,
  };
}
