/** A request as the adapters hand it to core: the platform's request reduced to what the rules need. */
export interface CoreRequest {
  method: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  /** The raw bytes, undefined when the request had none (the handshake POST). */
  body: Buffer | undefined;
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
