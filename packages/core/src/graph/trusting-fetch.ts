import { Agent, fetch as undiciFetch } from 'undici';

/**
 * A fetch that trusts `caPem` (graph-sim's CA in development and tests), for what is fetched outside the Graph
 * client: the signing keys of rich notifications' validationTokens. `close` releases its connections.
 */
export function trustingFetch(caPem: string): { fetch: typeof fetch; close(): Promise<void> } {
  const dispatcher = new Agent({ connect: { ca: caPem } });
  return {
    fetch: ((url: string, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher })) as unknown as typeof fetch,
    close: () => dispatcher.close(),
  };
}
