import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { guardWire, instanceAdmission, maxBodyBytesFromEnv } from '@graph2kafka/core/http';

let installed = false;

/**
 * functions-framework builds its Express app around `http.createServer` after loading this module, and its
 * body parsers read (and gunzip) every body up to 1 GB and JSON.parse it before any function runs. Wrapping
 * the server's request listener puts core's wire guard in front of them: compressed bodies and bodies over
 * G2K_MAX_BODY_BYTES are refused before they are read, a POST beyond the instance's memory budget is answered
 * 503 at once, and the guard reads the body itself. It hands it over as `rawBody`, the framework's own name
 * for it; the framework's parsers skip a request whose body was read already, so nobody parses it but the
 * webhook.
 */
export function installWireGuard(env: Record<string, string | undefined> = process.env): void {
  if (installed) return;
  installed = true;
  const limit = maxBodyBytesFromEnv(env);
  const rules = { limit, admission: instanceAdmission(env, limit) };
  const createServer = http.createServer.bind(http) as (...args: unknown[]) => http.Server;
  const guarded =
    (listener: RequestListener): RequestListener =>
    (req: IncomingMessage, res: ServerResponse) =>
      guardWire(req, res, rules, (body) => {
        if (body) (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
        listener(req, res);
      });
  (http as { createServer: unknown }).createServer = (...args: unknown[]): http.Server => {
    const at = args.findIndex((a) => typeof a === 'function');
    if (at >= 0) args[at] = guarded(args[at] as RequestListener);
    return createServer(...args);
  };
}
