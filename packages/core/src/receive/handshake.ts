import type { CoreResponse } from '../model/http.ts';

/** Real tokens are ~120 characters; anything far longer is not Graph's. */
const MAX_TOKEN_LENGTH = 1_024;

/**
 * Graph's endpoint validation: echo the URL-decoded `validationToken` as text/plain with 200. `query` is
 * already decoded (URLSearchParams turns `%3a` into ':' and '+' into a space). Returns undefined when the
 * request is not a handshake. Needs no configuration, so it is answered fast even on a cold start.
 */
export function answerHandshake(method: string, query: URLSearchParams): CoreResponse | undefined {
  if (!query.has('validationToken')) return undefined;
  const token = query.get('validationToken') ?? '';
  if (method !== 'POST') return plain(405, 'validation requests are POSTs');
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH)
    return plain(400, 'validationToken must be 1 to 1024 characters');
  return plain(200, token);
}

const plain = (status: number, body: string): CoreResponse => ({
  status,
  // nosniff: the token is reflected, so no client may ever treat it as HTML.
  headers: {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  },
  body,
});
