import { link, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { KeyFence } from '../fence/fence-types.ts';
import { MemoryKeyFence } from '../fence/memory-fence.ts';
import type { CollectionLayout, DeleteCondition, Doc, DocumentStore, ListQuery, StoredDoc } from './document-types.ts';
import { isSafeId, isSafePrefix, refuseUnsafe } from './safe-id.ts';

const MAX_ID = 160;
/** Files read at once by a list (each holds a descriptor while it is read). */
const READ_SLICE = 256;

const missing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** JSON documents in folders, each written atomically (temp file + rename). For local use and single hosts. */
export class FileDocumentStore implements DocumentStore {
  /** In memory: the file store serves one instance (see MemoryKeyFence). */
  private readonly fence = new MemoryKeyFence();
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  keyFence(): KeyFence {
    return this.fence;
  }

  async get(collection: CollectionLayout, id: string): Promise<Doc | undefined> {
    if (!isSafeId(id, MAX_ID)) return undefined;
    try {
      return JSON.parse(await readFile(this.path(collection, id), 'utf8')) as Doc;
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  }

  async put(collection: CollectionLayout, id: string, doc: Doc): Promise<void> {
    const temp = await this.temp(collection, id, doc);
    await rename(temp, this.path(collection, id));
  }

  async createIfAbsent(collection: CollectionLayout, id: string, doc: Doc): Promise<boolean> {
    const temp = await this.temp(collection, id, doc);
    const target = this.path(collection, id);
    try {
      // A link fails when the name exists, atomically: two claims of one id never both succeed, and the
      // document appears complete (a `wx` write could show a reader a half-written file).
      await link(temp, target);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      // A mounted volume without hard links (SMB shares): `wx` is still atomic on the name.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw err;
    } finally {
      await rm(temp, { force: true });
    }
    try {
      await writeFile(target, `${JSON.stringify(doc, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  async delete(collection: CollectionLayout, id: string, expect?: DeleteCondition): Promise<void> {
    if (!isSafeId(id, MAX_ID)) return;
    // One instance per file store: a read, then the delete, is as atomic as it needs to be.
    if (expect && (await this.get(collection, id))?.[expect.field] !== expect.value) return;
    await rm(this.path(collection, id), { force: true });
  }

  async list(collection: CollectionLayout, query: ListQuery = {}): Promise<StoredDoc[]> {
    const { prefix = '', indexAtMost, limit = Infinity } = query;
    if (!isSafePrefix(prefix)) throw new Error(`refusing to list documents by '${prefix}'`);
    let names: string[];
    try {
      names = await readdir(join(this.root, folderOf(collection)));
    } catch (err) {
      if (missing(err)) return [];
      throw err;
    }
    const ids = names.filter((n) => n.endsWith('.json') && n.startsWith(prefix)).map((n) => n.slice(0, -5));
    const field = collection.index;
    const bounded = indexAtMost !== undefined && field !== undefined;
    const answers = (doc: Doc): boolean => !bounded || (typeof doc[field] === 'string' && doc[field] <= indexAtMost);
    // In slices: a store of 300,000 records read all at once would open more files than the process may.
    const docs: StoredDoc[] = [];
    const wanted = bounded ? ids : ids.slice(0, limit);
    for (let i = 0; i < wanted.length && docs.length < limit; i += READ_SLICE) {
      const slice = wanted.slice(i, i + READ_SLICE);
      const read = await Promise.all(slice.map((id) => this.get(collection, id)));
      read.forEach((doc, j) => {
        if (doc !== undefined && answers(doc) && docs.length < limit) docs.push({ id: slice[j]!, doc });
      });
    }
    return docs;
  }

  private path(collection: CollectionLayout, id: string): string {
    return join(this.root, folderOf(collection), `${id}.json`);
  }

  /** The document written beside its final name, for a rename or link into place. */
  private async temp(collection: CollectionLayout, id: string, doc: Doc): Promise<string> {
    refuseUnsafe(id, MAX_ID);
    await mkdir(join(this.root, folderOf(collection)), { recursive: true });
    const temp = `${this.path(collection, id)}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
    return temp;
  }
}

const folderOf = (collection: CollectionLayout): string => collection.folder ?? collection.name;
