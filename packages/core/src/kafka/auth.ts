import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { GoogleAuth } from 'google-auth-library';
import type { SASLOptions } from 'kafkajs';
import type { GraphSettings, KafkaSettings } from '../config/config.ts';
import { KafkaAuthError } from '../errors.ts';
import { appCredential } from '../graph/token-provider.ts';

/** A Google access token of the runtime's service account, and that account's email. */
export interface GoogleTokens {
  accessToken(): Promise<{ token: string; expiresAt: number }>;
  account(): Promise<string>;
}

export interface KafkaAuthDeps {
  /** The Entra credential for OAUTHBEARER; by default built from the settings (app secret or managed identity). */
  entraCredential?: TokenCredential;
  /**
   * The credential of `KAFKA_OAUTH_IDENTITY=managed`: the function's managed identity, or an operator's own
   * sign-in (G2K_AZURE_CREDENTIAL); by default the managed identity.
   */
  azureCredential?: () => TokenCredential;
  google?: GoogleTokens;
  now?: () => number;
}

const base64url = (text: string): string => Buffer.from(text).toString('base64url');

/**
 * The token Managed Service for Apache Kafka accepts over OAUTHBEARER: a JWT-shaped triple whose "signature"
 * is the Google access token itself (what Google's own Kafka login handler sends).
 */
export function googleKafkaToken(accessToken: string, expiresAt: number, subject: string, now: number): string {
  const header = { typ: 'JWT', alg: 'GOOG_OAUTH2_TOKEN' };
  const claims = {
    exp: Math.floor(expiresAt / 1000),
    iat: Math.floor(now / 1000),
    scope: 'kafka',
    sub: subject,
  };
  return [JSON.stringify(header), JSON.stringify(claims), accessToken].map(base64url).join('.');
}

/** Application Default Credentials through google-auth-library, loaded only when this mechanism is configured. */
export function googleDefaultTokens(): GoogleTokens {
  let loaded: Promise<GoogleAuth> | undefined;
  const auth = () =>
    (loaded ??= import('google-auth-library').then(
      ({ GoogleAuth }) => new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }),
    ));
  return {
    async accessToken() {
      const client = await (await auth()).getClient();
      const { token } = await client.getAccessToken();
      if (!token) throw new Error('Application Default Credentials gave no access token');
      return { token, expiresAt: client.credentials.expiry_date ?? Date.now() + 5 * 60_000 };
    },
    async account() {
      const { client_email: email } = await (await auth()).getCredentials();
      if (!email) throw new Error('Application Default Credentials name no service account');
      return email;
    },
  };
}

function entraDefaultCredential(
  auth: Extract<KafkaSettings['sasl'], { provider: 'entra' }>,
  graph: GraphSettings,
  azure: (() => TokenCredential) | undefined,
): TokenCredential {
  if (auth.identity === 'app') return appCredential(graph, graph.homeTenantId);
  if (azure) return azure();
  return auth.managedClientId
    ? new ManagedIdentityCredential({ clientId: auth.managedClientId })
    : new ManagedIdentityCredential();
}

/**
 * kafkajs' SASL options for the configured mechanism. OAUTHBEARER tokens are fetched when kafkajs
 * authenticates a connection; the credentials cache them, so reconnects do not ask the token endpoint again.
 */
export function kafkaSasl(
  kafka: KafkaSettings,
  graph: GraphSettings,
  deps: KafkaAuthDeps = {},
): SASLOptions | undefined {
  const auth = kafka.sasl;
  if (!auth) return undefined;
  if (auth.mechanism !== 'oauthbearer')
    return { mechanism: auth.mechanism, username: auth.username, password: auth.password };
  const now = deps.now ?? Date.now;
  if (auth.provider === 'google') {
    const google = deps.google ?? googleDefaultTokens();
    return {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => {
        try {
          const [{ token, expiresAt }, subject] = await Promise.all([google.accessToken(), google.account()]);
          return { value: googleKafkaToken(token, expiresAt, subject, now()) };
        } catch (err) {
          throw new KafkaAuthError(
            `no Google access token for Kafka: ${(err as Error).message}. The function's service account needs roles/managedkafka.client.`,
            { cause: err },
          );
        }
      },
    };
  }
  let credential: TokenCredential | undefined;
  return {
    mechanism: 'oauthbearer',
    oauthBearerProvider: async () => {
      credential ??= deps.entraCredential ?? entraDefaultCredential(auth, graph, deps.azureCredential);
      try {
        const token = await credential.getToken(auth.scope);
        if (!token) throw new Error('the credential returned no token');
        return { value: token.token };
      } catch (err) {
        throw new KafkaAuthError(
          `no Entra ID token for Kafka (scope ${auth.scope}, ${auth.identity === 'managed' ? 'managed identity, or your own sign-in off Azure (G2K_AZURE_CREDENTIAL)' : 'app registration'}): ${(err as Error).message.split('\n')[0]}. ` +
            'The identity needs the "Azure Event Hubs Data Sender" role on the namespace (an operator reading dead letters also "Azure Event Hubs Data Receiver").',
          { cause: err },
        );
      }
    },
  };
}
