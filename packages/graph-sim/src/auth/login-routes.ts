import { LoginError } from '../errors.ts';
import { loginErrorResponse, json } from '../http/respond.ts';
import { Router } from '../http/router.ts';
import { guid } from '../ids.ts';
import type { SimClock } from '../clock.ts';
import type { Directory } from '../directory.ts';
import type { Faults } from '../faults.ts';
import type { SimRequest, SimResponse } from '../types.ts';
import type { TokenIssuer } from './token-issuer.ts';

export interface LoginDeps {
  authority: () => string;
  graphOrigin: () => string;
  clock: SimClock;
  directory: Directory;
  faults: Faults;
  issuer: TokenIssuer;
  onTokenIssued: (appId: string, tenantId: string) => void;
}

/** The Entra ID endpoints a confidential client (MSAL, `@azure/identity`) calls for app-only tokens. */
export function loginRouter(deps: LoginDeps): Router<void> {
  const { directory } = deps;

  const tenantOf = (name: string): { id: string } => {
    if (name === 'common' || name === 'organizations') return { id: name };
    const tenant = directory.findTenant(name);
    if (!tenant) {
      throw new LoginError(
        400,
        'invalid_tenant',
        90002,
        `Tenant '${name}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    }
    return tenant;
  };

  return new Router<void>()
    .add('GET', '/:tenant/v2.0/.well-known/openid-configuration', (_req, { tenant }) => {
      const { id } = tenantOf(tenant!);
      const base = `${deps.authority()}/${id}`;
      return json(200, {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${deps.authority()}/${id}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${base}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${deps.graphOrigin()}/oidc/userinfo`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid', 'ver'],
        kerberos_endpoint: `${base}/kerberos`,
        tenant_region_scope: 'WW',
        cloud_instance_name: 'graph-sim.localhost',
        cloud_graph_host_name: 'graph-sim.localhost',
        msgraph_host: new URL(deps.graphOrigin()).host,
        rbac_url: deps.graphOrigin(),
      });
    })
    .add('GET', '/:tenant/discovery/v2.0/keys', (_req, { tenant }) => {
      tenantOf(tenant!);
      return json(200, { keys: [deps.issuer.jwk] });
    })
    .add('POST', '/:tenant/oauth2/v2.0/token', async (req, { tenant }) => issueToken(req, tenant!));

  async function issueToken(req: SimRequest, tenantName: string): Promise<SimResponse> {
    if (deps.faults.tokenOutage()) {
      throw new LoginError(
        503,
        'temporarily_unavailable',
        50_001,
        'The service is temporarily unavailable (graph-sim token outage).',
        deps.faults.tokenOutageHeaders(),
      );
    }
    const form = new URLSearchParams(req.body);
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const [basicId, basicSecret] = basic
      ? Buffer.from(basic[1]!, 'base64').toString().split(':').map(decodeURIComponent)
      : [];
    const grantType = form.get('grant_type');
    const clientId = form.get('client_id') ?? basicId;
    const secret = form.get('client_secret') ?? basicSecret;
    const scope = form.get('scope');
    if (grantType !== 'client_credentials') {
      throw new LoginError(
        400,
        'unsupported_grant_type',
        70_003,
        `The app requested an unsupported grant type '${grantType ?? ''}'; graph-sim serves client_credentials only.`,
      );
    }
    if (!clientId)
      throw new LoginError(
        400,
        'invalid_request',
        900_144,
        "The request body must contain the following parameter: 'client_id'.",
      );
    if (!scope)
      throw new LoginError(
        400,
        'invalid_request',
        900_144,
        "The request body must contain the following parameter: 'scope'.",
      );
    const tenant = tenantOf(tenantName);
    if (tenant.id === 'common' || tenant.id === 'organizations') {
      throw new LoginError(
        400,
        'invalid_request',
        900_023,
        `Specified tenant identifier '${tenantName}' is neither a valid DNS name, nor a valid external domain.`,
      );
    }
    const app = directory.apps.get(clientId);
    if (!app || !app.consentedTenants.has(tenant.id)) {
      throw new LoginError(
        400,
        'unauthorized_client',
        700_016,
        `Application with identifier '${clientId}' was not found in the directory '${tenantName}'.`,
      );
    }
    if (secret !== app.clientSecret) {
      throw new LoginError(
        401,
        'invalid_client',
        7_000_215,
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
      );
    }
    const scopes = scope.split(' ').filter(Boolean);
    const graphScopes = new Set([`https://graph.microsoft.com/.default`, `${deps.graphOrigin()}/.default`]);
    if (scopes.length !== 1 || !scopes[0]!.endsWith('/.default')) {
      throw new LoginError(
        400,
        'invalid_scope',
        1_002_012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    if (!graphScopes.has(scopes[0]!)) {
      throw new LoginError(
        400,
        'invalid_resource',
        500_011,
        `The resource principal named ${scopes[0]!.replace(/\/\.default$/, '')} was not found in the tenant named ${tenantName}.`,
      );
    }
    const token = await deps.issuer.issue(app.clientId, tenant.id, app.servicePrincipalIds.get(tenant.id)!);
    deps.onTokenIssued(app.clientId, tenant.id);
    return json(200, {
      token_type: 'Bearer',
      expires_in: token.expiresInSeconds,
      ext_expires_in: token.expiresInSeconds,
      access_token: token.accessToken,
    });
  }
}

export async function handleLogin(router: Router<void>, req: SimRequest, clock: SimClock): Promise<SimResponse> {
  const traceId = guid();
  try {
    const match = router.match(req.method, req.path);
    if (match.kind === 'none')
      throw new LoginError(404, 'invalid_request', 90_002, `No login endpoint at ${req.path}.`);
    if (match.kind === 'wrong-method') {
      throw new LoginError(
        405,
        'invalid_request',
        900_561,
        `The endpoint only accepts ${match.allowed.join(', ')} requests.`,
      );
    }
    return await match.handler(req, match.params);
  } catch (err) {
    if (err instanceof LoginError) return loginErrorResponse(err, traceId, clock.nowIso());
    throw err;
  }
}
