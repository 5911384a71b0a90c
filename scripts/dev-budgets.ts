// How long `pnpm dev` waits for each step before it gives up, in one place: the dev command's test derives
// its own timeout from them.

/** For each function to answer its first handshake after it starts (a cold start on a busy machine). */
export const FUNCTION_START_MS = 30_000;
/**
 * Retries of a failed notification POST dev waits for, on graph-sim's (Graph's) schedule. On a cold machine
 * the first POST can fail: the function loads the core on its first notification and its producer's first
 * send may miss the answer deadline (503). Two retries wait up to about 53 s (3 s + 10 s + 10 s + 20 s + 10 s).
 */
export const DEV_REDELIVERIES = 2;
/** Change rounds the demo makes, each waited for until graph-sim delivered it. */
export const DEV_CHANGE_ROUNDS = 2;
/** For the demo's records to reach the reader once graph-sim delivered them. */
export const RECORDS_MS = 30_000;
/** For the function's metrics export and its answers to reach the state store (its health window, 10 s). */
export const STATUS_MS = 15_000;
