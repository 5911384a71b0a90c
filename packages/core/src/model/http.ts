/** A request as the adapters hand it to core: the platform's request reduced to what the rules need. */
export interface CoreRequest {
  method: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  /**
   * Reads the body, stopping once it exceeds `limit` bytes (then 'too_large'); undefined when there is none.
   * Adapters read from the wire where the platform allows it, so no request makes the instance hold more.
   */
  readBody(limit: number): Promise<Buffer | undefined | 'too_large'>;
  /** When the request arrived (ms since epoch): the time budget counts from here. */
  receivedAt: number;
}

export interface CoreResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}): CoreResponse => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(body),
});

/** Reads a stream of chunks, giving up as soon as more than `limit` bytes arrived. */
export async function readLimited(
  chunks: AsyncIterable<Uint8Array> | null | undefined,
  limit: number,
): Promise<Buffer | undefined | 'too_large'> {
  if (!chunks) return undefined;
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.byteLength;
    if (size > limit) return 'too_large';
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return size ? Buffer.concat(parts, size) : undefined;
}
