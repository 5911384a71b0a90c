import { RestError, TableClient, odata, type TableServiceClientOptions } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { KeyFence } from '../fence/fence-types.ts';
import { TableKeyFence } from '../fence/table-fence.ts';
import {
  repairId,
  seriesId,
  seriesOwnerPrefix,
  syncKey,
  type SeriesQuery,
  type SeriesDue,
  type SeriesRef,
  type SeriesState,
  type MailboxSyncState,
  type SyncRef,
  type HealthRecord,
  type RepairEntry,
  type SubscriptionStore,
} from './subscription-store.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';

type Kind = 'subscription' | 'mailbox' | 'repair' | 'health' | 'series' | 'seriesdue' | 'token';

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

function joined(entity: Record<string, unknown>): string {
  let json = typeof entity.doc === 'string' ? entity.doc : '';
  for (let i = 1; typeof entity[`doc${i}`] === 'string'; i++) json += entity[`doc${i}`] as string;
  return json;
}

const notFound = (err: unknown): boolean => err instanceof RestError && err.statusCode === 404;

/**
 * Azure Table Storage: one table, subscriptions and mailbox sync state in two partitions, each document as JSON.
 * With a table endpoint URL it authenticates by identity (role "Storage Table Data Contributor"); with a
 * connection string (a secret) by account key.
 */
export class TableSubscriptionStore implements SubscriptionStore {
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
  ): TableSubscriptionStore {
    return new TableSubscriptionStore(new TableClient(endpoint, table, credential, options));
  }

  static fromConnectionString(connectionString: string, table: string): TableSubscriptionStore {
    // Azurite and other local emulators speak plain http.
    const insecure =
      /TableEndpoint=http:\/\//i.test(connectionString) || /UseDevelopmentStorage=true/i.test(connectionString);
    return new TableSubscriptionStore(
      TableClient.fromConnectionString(connectionString, table, { allowInsecureConnection: insecure }),
    );
  }

  get(id: string): Promise<SubscriptionRecord | undefined> {
    return this.read<SubscriptionRecord>('subscription', id);
  }

  put(record: SubscriptionRecord): Promise<void> {
    return this.write('subscription', record.id, record);
  }

  async delete(id: string): Promise<void> {
    await this.table();
    try {
      await this.client.deleteEntity('subscription', id);
    } catch (err) {
      if (!notFound(err)) throw err;
    }
  }

  list(): Promise<SubscriptionRecord[]> {
    return this.readAll<SubscriptionRecord>('subscription');
  }

  getSync(ref: SyncRef): Promise<MailboxSyncState | undefined> {
    return this.read<MailboxSyncState>('mailbox', syncKey(ref));
  }

  putSync(state: MailboxSyncState): Promise<void> {
    return this.write('mailbox', syncKey(state), state);
  }

  listSync(): Promise<MailboxSyncState[]> {
    return this.readAll<MailboxSyncState>('mailbox');
  }

  putRepair(entry: RepairEntry): Promise<void> {
    return this.write('repair', repairId(entry), entry);
  }

  async deleteRepair(entry: RepairEntry): Promise<void> {
    await this.table();
    const id = repairId(entry);
    try {
      if (entry.nonce === undefined) {
        await this.client.deleteEntity('repair', id);
        return;
      }
      // Only the put this entry came from: its nonce, and no put since (the ETag).
      const stored = await this.client.getEntity<Record<string, unknown>>('repair', id);
      if ((JSON.parse(joined(stored)) as RepairEntry).nonce !== entry.nonce) return;
      await this.client.deleteEntity('repair', id, { etag: stored.etag });
    } catch (err) {
      if (notFound(err) || (err instanceof RestError && err.statusCode === 412)) return;
      throw err;
    }
  }

  listRepairs(limit: number): Promise<RepairEntry[]> {
    return this.readAll<RepairEntry>('repair', limit);
  }

  putHealth(record: HealthRecord): Promise<void> {
    return this.write('health', record.id, record);
  }

  async deleteHealth(id: string): Promise<void> {
    await this.table();
    try {
      await this.client.deleteEntity('health', id);
    } catch (err) {
      if (!notFound(err)) throw err;
    }
  }

  listHealth(): Promise<HealthRecord[]> {
    return this.readAll<HealthRecord>('health');
  }

  getSeries(ref: SeriesRef): Promise<SeriesState | undefined> {
    return this.read<SeriesState>('series', seriesId(ref));
  }

  putSeries(state: SeriesState): Promise<void> {
    return this.write('series', seriesId(state), state, state.advanceAt ? { advanceAt: state.advanceAt } : {});
  }

  async deleteSeries(ref: SeriesRef): Promise<void> {
    await this.remove('series', seriesId(ref));
  }

  async listSeries(query: SeriesQuery, limit: number): Promise<SeriesState[]> {
    // The owner is a prefix of the row key ('~' sorts after every id character); when the window moves is a
    // property of its own, so the service filters on it.
    const prefix = query.owner ? seriesOwnerPrefix(query.owner.tenantId, query.owner.userId) : undefined;
    let filter = odata`PartitionKey eq ${'series'}`;
    if (prefix) filter += ` and ${odata`RowKey ge ${prefix} and RowKey lt ${`${prefix}~`}`}`;
    if (query.advanceBy) filter += ` and ${odata`advanceAt le ${query.advanceBy}`}`;
    return this.readAll<SeriesState>('series', limit, filter);
  }

  getSeriesDue(ref: SeriesRef): Promise<SeriesDue | undefined> {
    return this.read<SeriesDue>('seriesdue', seriesId(ref));
  }

  putSeriesDue(due: SeriesDue): Promise<void> {
    return this.write('seriesdue', seriesId(due), due);
  }

  async deleteSeriesDue(ref: SeriesRef): Promise<void> {
    await this.remove('seriesdue', seriesId(ref));
  }

  async listSeriesDue(limit: number): Promise<SeriesDue[]> {
    return this.readAll<SeriesDue>('seriesdue', limit);
  }

  async claimToken(hash: string, expiresAt: string): Promise<boolean> {
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(hash)) return false;
    await this.table();
    try {
      // createEntity fails with 409 when the row exists: an atomic first-claim across instances.
      await this.client.createEntity({ partitionKey: 'token', rowKey: hash, expiresAt });
      return true;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 409) return false;
      throw err;
    }
  }

  async pruneTokens(now: string): Promise<number> {
    await this.table();
    let pruned = 0;
    for await (const entity of this.client.listEntities<{ expiresAt: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${'token'} and expiresAt lt ${now}`, select: ['rowKey'] },
    })) {
      await this.remove('token', entity.rowKey!);
      pruned++;
    }
    return pruned;
  }

  private async remove(kind: Kind, id: string): Promise<void> {
    await this.table();
    try {
      await this.client.deleteEntity(kind, id);
    } catch (err) {
      if (!notFound(err)) throw err;
    }
  }

  private table(): Promise<void> {
    this.ready ??= this.client.createTable().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async read<T>(kind: Kind, id: string): Promise<T | undefined> {
    // Row keys must not hold / \ # ? or control characters; ids from the network that do are simply unknown.
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(id)) return undefined;
    await this.table();
    try {
      return JSON.parse(joined(await this.client.getEntity<Record<string, unknown>>(kind, id))) as T;
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  /** `indexed`: properties beside the document that a listing filters on. */
  private async write(kind: Kind, id: string, doc: unknown, indexed: Record<string, string> = {}): Promise<void> {
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(id)) throw new Error(`refusing to store a document named '${id}'`);
    await this.table();
    await this.client.upsertEntity(
      { partitionKey: kind, rowKey: id, ...indexed, ...chunked(JSON.stringify(doc)) },
      'Replace',
    );
  }

  private async readAll<T>(kind: Kind, limit = Infinity, filter = odata`PartitionKey eq ${kind}`): Promise<T[]> {
    await this.table();
    const out: T[] = [];
    for await (const entity of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      if (out.length >= limit) break;
      out.push(JSON.parse(joined(entity)) as T);
    }
    return out;
  }
}
