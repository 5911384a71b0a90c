import { RestError, TableClient, odata, type TableServiceClientOptions } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { KeyFence } from '../fence/fence-types.ts';
import { TableKeyFence } from '../fence/table-fence.ts';
import type { CollectionLayout, DeleteCondition, Doc, DocumentStore, ListQuery, StoredDoc } from './document-types.ts';
import { isSafeId, isSafePrefix, refuseUnsafe } from './safe-id.ts';

const MAX_ID = 200;

/**
 * A string property holds at most 64 KiB (32K UTF-16 characters), an entity 1 MiB: a larger document (a series'
 * occurrences) is split over `doc`, `doc1`, `doc2` … and joined again on read.
 */
const CHUNK_CHARS = 30_000;
const MAX_CHUNKS = 16;

function chunked(json: string): Record<string, string> {
  const parts = Math.ceil(json.length / CHUNK_CHARS) || 1;
  if (parts > MAX_CHUNKS)
    throw new Error(`a state document of ${json.length} characters does not fit one table entity (1 MiB)`);
  const out: Record<string, string> = {};
  for (let i = 0; i < parts; i++) out[i ? `doc${i}` : 'doc'] = json.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  return out;
}

/**
 * The document of an entity. Token claims of earlier versions kept their one field as a property and no
 * document: such an entity reads as its indexed property alone.
 */
function docOf(collection: CollectionLayout, entity: Record<string, unknown>): Doc {
  if (typeof entity.doc !== 'string') {
    const field = collection.index;
    return field !== undefined && entity[field] !== undefined ? { [field]: entity[field] } : {};
  }
  let json = entity.doc;
  for (let i = 1; typeof entity[`doc${i}`] === 'string'; i++) json += entity[`doc${i}`] as string;
  return JSON.parse(json) as Doc;
}

/** The properties beside the document that a listing filters on (the collection's index). */
function indexed(collection: CollectionLayout, doc: Doc): Record<string, string> {
  const field = collection.index;
  const value = field === undefined ? undefined : doc[field];
  return field !== undefined && typeof value === 'string' ? { [field]: value } : {};
}

/** An OData string literal (quotes doubled): the field name beside it is the collection's, never data. */
const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

const status = (err: unknown, code: number): boolean => err instanceof RestError && err.statusCode === code;

/**
 * Azure Table Storage: one table, each collection a partition, each document as JSON in its row.
 * With a table endpoint URL it authenticates by identity (role "Storage Table Data Contributor"); with a
 * connection string (a secret) by account key.
 */
export class TableDocumentStore implements DocumentStore {
  private readonly client: TableClient;
  private ready: Promise<void> | undefined;
  private readonly fence: TableKeyFence;

  constructor(client: TableClient) {
    this.client = client;
    this.fence = new TableKeyFence(client, () => this.table());
  }

  keyFence(): KeyFence {
    return this.fence;
  }

  /**
   * By identity: the Function App's managed identity, or an operator's own sign-in (azure/azure-credential.ts
   * says which, and why never DefaultAzureCredential). Either needs "Storage Table Data Contributor".
   */
  static fromUrl(
    endpoint: string,
    table: string,
    credential: TokenCredential,
    options?: TableServiceClientOptions,
  ): TableDocumentStore {
    return new TableDocumentStore(new TableClient(endpoint, table, credential, options));
  }

  static fromConnectionString(connectionString: string, table: string): TableDocumentStore {
    // Azurite and other local emulators speak plain http.
    const insecure =
      /TableEndpoint=http:\/\//i.test(connectionString) || /UseDevelopmentStorage=true/i.test(connectionString);
    return new TableDocumentStore(
      TableClient.fromConnectionString(connectionString, table, { allowInsecureConnection: insecure }),
    );
  }

  async get(collection: CollectionLayout, id: string): Promise<Doc | undefined> {
    // Row keys must not hold / \ # ? or control characters; ids from the network that do are simply unknown.
    if (!isSafeId(id, MAX_ID)) return undefined;
    await this.table();
    try {
      return docOf(collection, await this.client.getEntity<Record<string, unknown>>(collection.name, id));
    } catch (err) {
      if (status(err, 404)) return undefined;
      throw err;
    }
  }

  async put(collection: CollectionLayout, id: string, doc: Doc): Promise<void> {
    refuseUnsafe(id, MAX_ID);
    await this.table();
    await this.client.upsertEntity(this.entity(collection, id, doc), 'Replace');
  }

  async createIfAbsent(collection: CollectionLayout, id: string, doc: Doc): Promise<boolean> {
    refuseUnsafe(id, MAX_ID);
    await this.table();
    try {
      // createEntity fails with 409 when the row exists: an atomic first write across instances.
      await this.client.createEntity(this.entity(collection, id, doc));
      return true;
    } catch (err) {
      if (status(err, 409)) return false;
      throw err;
    }
  }

  async delete(collection: CollectionLayout, id: string, expect?: DeleteCondition): Promise<void> {
    if (!isSafeId(id, MAX_ID)) return;
    await this.table();
    try {
      if (!expect) {
        await this.client.deleteEntity(collection.name, id);
        return;
      }
      // Only the document read: its value, and no put since (the ETag).
      const stored = await this.client.getEntity<Record<string, unknown>>(collection.name, id);
      if (docOf(collection, stored)[expect.field] !== expect.value) return;
      await this.client.deleteEntity(collection.name, id, { etag: stored.etag });
    } catch (err) {
      if (status(err, 404) || status(err, 412)) return;
      throw err;
    }
  }

  async list(collection: CollectionLayout, query: ListQuery = {}): Promise<StoredDoc[]> {
    const { prefix = '', indexAtMost, limit = Infinity } = query;
    if (!isSafePrefix(prefix)) throw new Error(`refusing to list documents by '${prefix}'`);
    // A prefix is a range of row keys ('~' sorts after every id character); the index is a property of its own,
    // so the service filters on it.
    let filter = odata`PartitionKey eq ${collection.name}`;
    if (prefix) filter += ` and ${odata`RowKey ge ${prefix} and RowKey lt ${`${prefix}~`}`}`;
    if (indexAtMost !== undefined && collection.index !== undefined)
      filter += ` and ${collection.index} le ${literal(indexAtMost)}`;
    await this.table();
    const out: StoredDoc[] = [];
    if (limit <= 0) return out;
    for await (const entity of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      out.push({ id: entity.rowKey!, doc: docOf(collection, entity) });
      if (out.length >= limit) break;
    }
    return out;
  }

  private entity(collection: CollectionLayout, id: string, doc: Doc) {
    const json = JSON.stringify(doc);
    return { partitionKey: collection.name, rowKey: id, ...indexed(collection, doc), ...chunked(json) };
  }

  private table(): Promise<void> {
    this.ready ??= this.client.createTable().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }
}
