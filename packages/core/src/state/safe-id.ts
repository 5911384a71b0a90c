/**
 * Ids come from notifications, i.e. from the network: never let one become a path, a row key holding / \ # ?
 * or control characters, or a pattern. The file store keeps the shorter limit it always had.
 */
const SAFE = /^[A-Za-z0-9_-]+$/;

export const isSafeId = (id: string, maxLength: number): boolean =>
  id.length >= 1 && id.length <= maxLength && SAFE.test(id);

/** A listing's prefix: the characters of an id, possibly none. */
export const isSafePrefix = (prefix: string): boolean => prefix === '' || SAFE.test(prefix);

export function refuseUnsafe(id: string, maxLength: number): void {
  if (!isSafeId(id, maxLength)) throw new Error(`refusing to store a document named '${id}'`);
}
