import type { KeyFence } from '../fence/fence-types.ts';

/** A stored document: JSON, read back as it was written (a collection's `upgrade` shapes older ones). */
export type Doc = Record<string, unknown>;

/**
 * Where a collection's documents live in every backend. `name` is the PostgreSQL `kind` and the Table Storage
 * partition; `folder` the file store's folder (the names existing deployments hold, so they must not change).
 */
export interface CollectionLayout {
  name: string;
  folder?: string;
  /**
   * The one sortable string field a listing may bound (`indexAtMost`), e.g. an ISO time. Table Storage keeps it
   * as a property of its own beside the document, so the service filters on it.
   */
  index?: string;
}

/** A listed document with the id it is stored under (documents of earlier versions may not hold it). */
export interface StoredDoc {
  id: string;
  doc: Doc;
}

/** Which documents a listing returns, in no particular order. */
export interface ListQuery {
  /** Ids starting with it (ids are built so that related documents share a prefix). */
  prefix?: string;
  /** Documents whose index field is set and not after this (text order; ISO times sort as times). */
  indexAtMost?: string;
  limit?: number;
}

/** Delete only while the stored document's `field` still holds `value` (a document put again since stays). */
export interface DeleteCondition {
  field: string;
  value: string;
}

/**
 * State that survives restarts, as JSON documents in named collections. Every kind of state (subscriptions,
 * sync states, repairs …) is a collection declared by its feature (`defineCollection`); a backend only stores.
 * Ids come from the network: a backend refuses any that is not a safe id (`safe-id.ts`) — unknown on read,
 * an error on write.
 */
export interface DocumentStore {
  get(collection: CollectionLayout, id: string): Promise<Doc | undefined>;
  put(collection: CollectionLayout, id: string, doc: Doc): Promise<void>;
  /** Writes the document unless one exists under the id, atomically across instances: whether it wrote. */
  createIfAbsent(collection: CollectionLayout, id: string, doc: Doc): Promise<boolean>;
  /** Deletes the document (nothing there: nothing to do); with `expect`, only if it still holds that value. */
  delete(collection: CollectionLayout, id: string, expect?: DeleteCondition): Promise<void>;
  list(collection: CollectionLayout, query?: ListQuery): Promise<StoredDoc[]>;
  /** The per-key fence kept beside this state (see fence/fence-types.ts): shared by every instance sharing it. */
  keyFence(): KeyFence;
  /** Releases connections (pools); a store without any has nothing to do. */
  close?(): Promise<void>;
}
