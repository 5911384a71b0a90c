import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export interface FakeKeyVault {
  /** The vault's name: its URL is `https://NAME.vault.azure.net`, as App Service's references name it. */
  name: string;
  /** The vault on its loopback address (a client must then skip the SDK's check of the challenge's resource). */
  url: string;
  /** An HTTP proxy (`HTTPS_PROXY`) that tunnels `*.vault.azure.net:443` to this vault, and nothing else. */
  proxyUrl: string;
  /** The certificate the vault serves (for `*.vault.azure.net`), for the client to trust. */
  caPem: string;
  /** Each secret read: `PATH aud=AUDIENCE` of the bearer token it came with. */
  seen: string[];
  stop(): Promise<void>;
}

const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString() || '{}') as { aud?: string };

/**
 * Key Vault's secrets API as `@azure/keyvault-secrets` meets it: an unauthenticated request is answered with
 * Key Vault's challenge (tenant and resource), then the bearer request is served. Reached by its real host name
 * through a CONNECT proxy, so the SDK's check that the challenge's resource matches the vault's domain holds as
 * in Azure. Secret `forbidden` answers 403, any unknown one 404.
 */
export async function startFakeKeyVault(
  secrets: Record<string, string>,
  tenantId: string,
  name = 'contosog2k-kv',
): Promise<FakeKeyVault> {
  const pems = await generate([{ name: 'commonName', value: `${name}.vault.azure.net` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: '*.vault.azure.net' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const seen: string[] = [];
  const vault: Server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) {
      res.writeHead(401, {
        'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`,
      });
      return res.end();
    }
    const url = new URL(req.url ?? '/', `https://${req.headers.host}`);
    seen.push(`${url.pathname} aud=${claims(auth.slice('Bearer '.length)).aud}`);
    const secret = url.pathname.split('/')[2] ?? '';
    const value = secrets[secret];
    const status = secret === 'forbidden' ? 403 : value === undefined ? 404 : 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        status === 200
          ? { value, id: `https://${url.host}/secrets/${secret}/v1`, attributes: { enabled: true } }
          : { error: { code: status === 403 ? 'Forbidden' : 'SecretNotFound', message: 'refused' } },
      ),
    );
  });
  await new Promise<void>((resolve) => vault.listen(0, '127.0.0.1', resolve));
  const vaultPort = (vault.address() as AddressInfo).port;

  const proxy: HttpServer = createHttpServer((_req, res) => res.writeHead(405).end());
  // A CONNECT tunnel leaves the HTTP server's books: its sockets are ended here on stop.
  const tunnels = new Set<net.Socket>();
  proxy.on('connect', (req, client: net.Socket, head: Buffer) => {
    tunnels.add(client);
    client.on('close', () => tunnels.delete(client));
    if (!/^[a-z0-9-]+\.vault\.azure\.net:443$/.test(req.url ?? '')) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = net.connect(vaultPort, '127.0.0.1', () => {
      tunnels.add(upstream);
      upstream.on('close', () => tunnels.delete(upstream));
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const close = (server: net.Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as HttpServer).closeAllConnections?.();
    });
  return {
    name,
    url: `https://127.0.0.1:${vaultPort}`,
    proxyUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    caPem: pems.cert,
    seen,
    stop: async () => {
      for (const socket of tunnels) socket.destroy();
      await close(proxy);
      await close(vault);
    },
  };
}
