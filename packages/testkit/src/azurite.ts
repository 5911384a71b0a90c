import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTlsMaterial } from '@graph2kafka/graph-sim';
import { freePort } from './free-port.ts';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteTable {
  connectionString: string;
  /** The account's table endpoint, as `G2K_STATE_STORE=azure-table:URL` names it (https with `oauth`). */
  tableUrl: string;
  /** With `oauth`: the self-signed certificate Azurite serves, for the client to trust. */
  caPem?: string;
  stop(): Promise<void>;
}

/**
 * Azurite's Table service (the real emulator, from npm), in memory, on a free loopback port. With `oauth` it
 * serves HTTPS and accepts bearer tokens (`--oauth basic`: it checks a token's audience, issuer and lifetime,
 * not its signature), the way an identity reaches Table Storage.
 */
export async function startAzuriteTable(options: { oauth?: boolean } = {}): Promise<AzuriteTable> {
  const require = createRequire(import.meta.url);
  const main = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'table', 'main.js');
  const port = await freePort();
  const tlsDir = options.oauth ? mkdtempSync(path.join(tmpdir(), 'g2k-azurite-tls-')) : undefined;
  const tls = options.oauth ? await makeTlsMaterial() : undefined;
  const tlsArgs: string[] = [];
  if (tlsDir && tls) {
    writeFileSync(path.join(tlsDir, 'cert.pem'), tls.certPem);
    writeFileSync(path.join(tlsDir, 'key.pem'), tls.keyPem);
    tlsArgs.push('--cert', path.join(tlsDir, 'cert.pem'), '--key', path.join(tlsDir, 'key.pem'), '--oauth', 'basic');
  }
  const child = spawn(
    process.execPath,
    [
      main,
      '--tableHost',
      '127.0.0.1',
      '--tablePort',
      String(port),
      '--inMemoryPersistence',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      ...tlsArgs,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
      throw new Error(`Azurite did not start on port ${port}: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const scheme = options.oauth ? 'https' : 'http';
  const tableUrl = `${scheme}://127.0.0.1:${port}/${ACCOUNT}`;
  return {
    connectionString: `DefaultEndpointsProtocol=${scheme};AccountName=${ACCOUNT};AccountKey=${KEY};TableEndpoint=${tableUrl};`,
    tableUrl,
    ...(tls ? { caPem: tls.certPem } : {}),
    stop: () =>
      new Promise<void>((resolve) => {
        if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
