import type { TokenCredential } from '@azure/identity';
import type { StateStoreSettings } from '../config/config.ts';
import type { DocumentStore } from './document-types.ts';
import { FileDocumentStore } from './file-store.ts';
import { PostgresDocumentStore } from './postgres-store.ts';
import { TableDocumentStore } from './table-store.ts';

/** The backend the settings name; `azure` is asked for a credential only when Table Storage by identity needs one. */
export function openDocumentStore(settings: StateStoreSettings, azure: () => TokenCredential): DocumentStore {
  switch (settings.kind) {
    case 'file':
      return new FileDocumentStore(settings.dir);
    case 'azure-table':
      return TableDocumentStore.fromUrl(settings.endpoint, settings.table, azure());
    case 'azure-table-connection-string':
      return TableDocumentStore.fromConnectionString(settings.connectionString, settings.table);
    case 'postgres':
      return new PostgresDocumentStore(settings.connectionString);
  }
}
