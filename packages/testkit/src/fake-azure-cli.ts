import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface FakeAzureCli {
  /** Put first on PATH: its `az` answers as a signed-in Azure CLI does. */
  dir: string;
  /** The tenant its tokens name. */
  tenantId: string;
  /** Each call's arguments, one line each, in order. */
  calls(): string[];
  /** As if `az logout` ran: every token request fails as the real CLI's does, until `az login`. */
  signOut(): void;
  /** The app settings `az functionapp config appsettings list` answers with. */
  setAppSettings(settings: Array<{ name: string; value: string }>): void;
  remove(): void;
}

/**
 * A stand-in for the Azure CLI, as `@azure/identity`'s AzureCliCredential and the deploy scripts call it:
 * `az login` signs in, `az account get-access-token --output json --resource R` prints a token for R (an unsigned
 * JWT with the audience, issuer and lifetime Azurite's `--oauth basic` checks), `az functionapp config appsettings
 * list` prints the settings given. Nothing else is answered.
 */
export function fakeAzureCli(tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47'): FakeAzureCli {
  const dir = mkdtempSync(path.join(tmpdir(), 'g2k-fake-az-'));
  const log = path.join(dir, 'calls.log');
  const signedOut = path.join(dir, 'signed-out');
  const settings = path.join(dir, 'appsettings.json');
  writeFileSync(settings, '[]');
  const script = `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, args.join(' ') + '\\n');
const words = args.filter((a) => !a.startsWith('-'));
if (words[0] === 'login') {
  fs.rmSync(${JSON.stringify(signedOut)}, { force: true });
  process.stdout.write('[]');
} else if (words[0] === 'account' && words[1] === 'get-access-token') {
  if (fs.existsSync(${JSON.stringify(signedOut)})) {
    process.stderr.write("ERROR: Please run 'az login' to setup account.\\n");
    process.exit(1);
  }
  const resource = args[args.indexOf('--resource') + 1];
  const now = Math.floor(Date.now() / 1000);
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { aud: resource, iss: 'https://sts.windows.net/${tenantId}/', iat: now - 60, nbf: now - 60, exp: now + 3600, tid: '${tenantId}', upn: 'oncall@contoso.example' };
  const accessToken = [part({ alg: 'none', typ: 'JWT' }), part(claims), 'unsigned'].join('.');
  process.stdout.write(JSON.stringify({ accessToken, expiresOn: new Date((now + 3600) * 1000).toISOString(), expires_on: now + 3600, tenant: '${tenantId}', tokenType: 'Bearer' }));
} else if (words.slice(0, 4).join(' ') === 'functionapp config appsettings list') {
  process.stdout.write(fs.readFileSync(${JSON.stringify(settings)}, 'utf8'));
} else {
  process.stderr.write('fake az: not answered: ' + args.join(' ') + '\\n');
  process.exit(2);
}
`;
  writeFileSync(path.join(dir, 'az'), script);
  chmodSync(path.join(dir, 'az'), 0o755);
  return {
    dir,
    tenantId,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    signOut: () => writeFileSync(signedOut, ''),
    setAppSettings: (list) => writeFileSync(settings, JSON.stringify(list)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
