import type { CollectionLayout, Doc, DocumentStore, ListQuery } from './document-types.ts';

/**
 * One kind of state, declared by the feature that keeps it: where its documents live, how a document (or a
 * reference to one, `R`) names its id, and how documents of earlier versions read as today's shape.
 */
export interface CollectionSpec<T, R = T> extends CollectionLayout {
  id(ref: R): string;
  index?: Extract<keyof T, string>;
  /** Applied to every document read (with the id it is stored under): earlier versions' shapes become today's. */
  upgrade?(raw: Doc, id: string): T;
}

export const defineCollection = <T, R = T>(spec: CollectionSpec<T, R>): CollectionSpec<T, R> => spec;

/** A collection's documents in one store, typed. Lookups take a reference (`R`) or an id. */
export class Collection<T, R = T> {
  readonly store: DocumentStore;
  readonly spec: CollectionSpec<T, R>;

  constructor(store: DocumentStore, spec: CollectionSpec<T, R>) {
    this.store = store;
    this.spec = spec;
  }

  idOf(ref: R | string): string {
    return typeof ref === 'string' ? ref : this.spec.id(ref);
  }

  async get(ref: R | string): Promise<T | undefined> {
    const id = this.idOf(ref);
    const raw = await this.store.get(this.spec, id);
    return raw === undefined ? undefined : this.read(raw, id);
  }

  put(doc: T & R): Promise<void> {
    return this.store.put(this.spec, this.spec.id(doc), doc as Doc);
  }

  createIfAbsent(doc: T & R): Promise<boolean> {
    return this.store.createIfAbsent(this.spec, this.spec.id(doc), doc as Doc);
  }

  delete(ref: R | string, expect?: { field: Extract<keyof T, string>; value: string }): Promise<void> {
    return this.store.delete(this.spec, this.idOf(ref), expect);
  }

  async list(query: ListQuery = {}): Promise<T[]> {
    if (query.indexAtMost !== undefined && this.spec.index === undefined)
      throw new Error(`the ${this.spec.name} collection has no index to list by`);
    return (await this.store.list(this.spec, query)).map(({ id, doc }) => this.read(doc, id));
  }

  private read(raw: Doc, id: string): T {
    return this.spec.upgrade ? this.spec.upgrade(raw, id) : (raw as T);
  }
}
