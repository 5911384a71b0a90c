/**
 * What reading an item gave. `outside`: the item exists but not in the subscription's folder, and `item` holds
 * only its id and where it is (see FolderScope). `omitted`: relations left out for their size.
 */
export type FetchOutcome =
  | {
      kind: 'found';
      item: Record<string, unknown>;
      outside?: boolean;
      omitted?: string[];
      /** The item came inside a rich notification (decrypted), not from a read. */
      fromNotification?: true;
    }
  | { kind: 'gone' }
  | { kind: 'failed'; reason: string };
