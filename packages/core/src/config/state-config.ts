import type { StateStoreSettings } from './config-types.ts';
import { viaLocalSocketDir } from './cloudsql-socket.ts';
import { shown, type EnvReader } from './env-reader.ts';

/** G2K_POSTGRES_URL, through a local Cloud SQL Auth Proxy's socket folder when G2K_CLOUDSQL_SOCKET_DIR names one. */
function postgresUrl(r: EnvReader, url: string): string {
  const dir = r.env.G2K_CLOUDSQL_SOCKET_DIR?.trim();
  if (!dir || !url) return url;
  if (!dir.startsWith('/')) {
    r.problems.push(
      `G2K_CLOUDSQL_SOCKET_DIR must be an absolute folder (the proxy's --unix-socket), got ${shown(dir)}.`,
    );
    return url;
  }
  const local = viaLocalSocketDir(url, dir);
  if (!local)
    r.problems.push(
      'G2K_CLOUDSQL_SOCKET_DIR is set, but G2K_POSTGRES_URL does not connect through host=/cloudsql/PROJECT:REGION:INSTANCE: point the URL at the proxy itself (e.g. postgresql://USER@127.0.0.1:5432/DB) and unset G2K_CLOUDSQL_SOCKET_DIR.',
    );
  return local ?? url;
}

/** Where subscription state lives (file, PostgreSQL, Azure Table Storage). */
export async function readStateStore(r: EnvReader): Promise<StateStoreSettings> {
  const store = r.text('G2K_STATE_STORE');
  const table = r.text('G2K_TABLE_NAME', 'graph2kafka');
  if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(table))
    r.problems.push(`G2K_TABLE_NAME must be 3-63 letters and digits, starting with a letter, got ${shown(table)}.`);
  let stateStore: StateStoreSettings = { kind: 'file', dir: '' };
  const fileStore = /^file:(.+)$/.exec(store);
  const tableStore = /^azure-table:(https:\/\/.+)$/.exec(store);
  if (fileStore) stateStore = { kind: 'file', dir: fileStore[1]! };
  else if (tableStore) stateStore = { kind: 'azure-table', endpoint: tableStore[1]!, table };
  else if (store === 'azure-table-connection-string') {
    stateStore = {
      kind: 'azure-table-connection-string',
      connectionString: await r.secret('G2K_TABLE_CONNECTION_STRING', true),
      table,
    };
  } else if (store === 'postgres') {
    stateStore = { kind: 'postgres', connectionString: postgresUrl(r, await r.secret('G2K_POSTGRES_URL', true)) };
  } else if (store) {
    r.problems.push(
      `G2K_STATE_STORE must be file:<directory>, postgres, azure-table:https://<account>.table.core.windows.net or azure-table-connection-string, got ${shown(store)}.`,
    );
  }

  return stateStore;
}
