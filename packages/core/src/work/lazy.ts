/**
 * A value made on first use and shared by every caller after; a failed making is forgotten, so the next caller
 * tries again (a secret may have been granted, a broker come back meanwhile). How both adapters load the app:
 * on the first notification, not at start, so a cold instance's handshake does not wait for it.
 */
export function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let making: Promise<T> | undefined;
  return () =>
    (making ??= make().catch((err: unknown) => {
      making = undefined;
      throw err;
    }));
}
