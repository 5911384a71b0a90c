import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.ts';
import { postgresBin } from './prerequisites.ts';

function serverBin(): string {
  const bin = postgresBin();
  if (!bin) {
    throw new Error(
      'PostgreSQL server binaries were not found in /usr/lib/postgresql/*/bin: install the Debian package "postgresql" (.ci/run does), or set G2K_PG_BIN',
    );
  }
  return bin;
}

/** util-linux's runuser lives in sbin, which a non-login PATH (cron, CI runners, `env -i`) often lacks. */
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser'].find((p) => existsSync(p)) ?? 'runuser';

/**
 * A throwaway PostgreSQL server of the test's own (its own data directory and port, trust auth on loopback),
 * from the machine's Debian packages. As root it runs as the `postgres` user, which initdb requires.
 */
export async function startPostgres(): Promise<{
  url: string;
  /** The folder of the server's Unix socket, `.s.PGSQL.<port>` (what a Cloud SQL Auth Proxy serves too). */
  socketDir: string;
  port: number;
  stop(): Promise<void>;
}> {
  const bin = serverBin();
  const dir = mkdtempSync(path.join(tmpdir(), 'g2k-pg-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]): void => {
    const command = path.join(bin, tool);
    if (asRoot) execFileSync(RUNUSER, ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' });
    else execFileSync(command, args, { stdio: 'pipe' });
  };
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'g2k', '--no-sync', '-E', 'UTF8']);
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    path.join(dir, 'server.log'),
    '-w',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ]);
  return {
    url: `postgresql://g2k@127.0.0.1:${port}/postgres`,
    socketDir: dir,
    port,
    stop: () => {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      // A data directory is some 40 MB; a stopped server's is of no further use.
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}
