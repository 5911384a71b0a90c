import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What graph2kafka keeps about a subscription it created; the clientState is a secret. */
export interface SubscriptionRecord {
  id: string;
  tenantId: string;
  userId: string;
  resource: string;
  changeType: string;
  clientState: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | undefined;
  expirationDateTime: string;
  createdAt: string;
  updatedAt: string;
}

/** Subscription state that survives restarts; the receive path reads clientState secrets from it. */
export interface SubscriptionStore {
  get(id: string): Promise<SubscriptionRecord | undefined>;
  put(record: SubscriptionRecord): Promise<void>;
  delete(id: string): Promise<void>;
  list(): Promise<SubscriptionRecord[]>;
}

const SAFE_ID = /^[A-Za-z0-9-]{1,64}$/;

/** One JSON file per subscription, written atomically (temp file + rename). For local use and single hosts. */
export class FileSubscriptionStore implements SubscriptionStore {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'subscriptions');
  }

  async get(id: string): Promise<SubscriptionRecord | undefined> {
    // Ids come from notifications, i.e. from the network: never let one become a path.
    if (!SAFE_ID.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')) as SubscriptionRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async put(record: SubscriptionRecord): Promise<void> {
    if (!SAFE_ID.test(record.id)) throw new Error(`refusing to store subscription id '${record.id}'`);
    await mkdir(this.dir, { recursive: true });
    const target = join(this.dir, `${record.id}.json`);
    const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, target);
  }

  async delete(id: string): Promise<void> {
    if (!SAFE_ID.test(id)) return;
    await rm(join(this.dir, `${id}.json`), { force: true });
  }

  async list(): Promise<SubscriptionRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const records = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => this.get(n.slice(0, -5))));
    return records.filter((r): r is SubscriptionRecord => r !== undefined);
  }
}

/** Keeps found records for a while, so a burst of notifications does not read the store for each one. */
export class CachedSubscriptionStore implements SubscriptionStore {
  private readonly cache = new Map<string, { record: SubscriptionRecord; until: number }>();
  private readonly inner: SubscriptionStore;
  private readonly ttlMs: number;

  constructor(inner: SubscriptionStore, ttlMs = 60_000) {
    this.inner = inner;
    this.ttlMs = ttlMs;
  }

  async get(id: string): Promise<SubscriptionRecord | undefined> {
    const hit = this.cache.get(id);
    if (hit && hit.until > Date.now()) return hit.record;
    const record = await this.inner.get(id);
    if (record) this.cache.set(id, { record, until: Date.now() + this.ttlMs });
    else this.cache.delete(id);
    return record;
  }

  async put(record: SubscriptionRecord): Promise<void> {
    await this.inner.put(record);
    this.cache.set(record.id, { record, until: Date.now() + this.ttlMs });
  }

  async delete(id: string): Promise<void> {
    await this.inner.delete(id);
    this.cache.delete(id);
  }

  list(): Promise<SubscriptionRecord[]> {
    return this.inner.list();
  }
}
