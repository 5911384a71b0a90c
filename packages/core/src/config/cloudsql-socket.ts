/** Where Cloud Run mounts Cloud SQL's sockets: `/cloudsql/PROJECT:REGION:INSTANCE/.s.PGSQL.5432`. */
const CLOUD_RUN_SOCKETS = '/cloudsql/';

/**
 * The same PostgreSQL URL, its `host=/cloudsql/INSTANCE` socket folder moved under `dir`: where a local Cloud SQL
 * Auth Proxy started with `--unix-socket DIR` puts the instance's socket. So an operator's CLI uses the deployed
 * URL (user, password, database) as it is, from its secret, and no copy of it is written anywhere.
 * Undefined when the URL does not name a Cloud Run socket.
 */
export function viaLocalSocketDir(url: string, dir: string): string | undefined {
  const at = url.indexOf('?');
  if (at < 0) return undefined;
  let moved = false;
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const [key, raw = ''] = pair.split('=', 2) as [string, string?];
      if (key !== 'host') return pair;
      const host = decodeURIComponent(raw);
      if (!host.startsWith(CLOUD_RUN_SOCKETS)) return pair;
      moved = true;
      return `host=${encodeURIComponent(`${dir.replace(/\/+$/, '')}/${host.slice(CLOUD_RUN_SOCKETS.length)}`)}`;
    })
    .join('&');
  return moved ? `${url.slice(0, at)}?${query}` : undefined;
}
