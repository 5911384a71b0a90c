import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { guardWire, instanceAdmission, maxBodyBytesFromEnv } from '@graph2kafka/core/http';

let installed = false;
/**
 * Set on a request the guard has taken: `http.createServer` is process-wide, and a second copy of this module
 * (a test runner's fresh module registry) wraps the wrapped function again; the inner guard must then let the
 * request through, since the outer one has read its body already.
 */
const GUARDED = Symbol.for('graph2kafka.wireGuarded');

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
    (req: IncomingMessage, res: ServerResponse) => {
      const marked = req as IncomingMessage & { rawBody?: Buffer; [GUARDED]?: true };
      if (marked[GUARDED]) return listener(req, res);
      marked[GUARDED] = true;
      guardWire(req, res, rules, (body) => {
        if (body) marked.rawBody = body;
        listener(req, res);
      });
    };
  (http as { createServer: unknown }).createServer = (...args: unknown[]): http.Server => {
    const at = args.findIndex((a) => typeof a === 'function');
    // Only functions-framework's server (an Express app): the guard consumes the body and hands it over as
    // `rawBody`, which only Express's body parsers know to take; any other server in the process (a test
    // runner's, a local tool's) reads the request itself and must get it untouched.
    if (at >= 0 && isExpressApp(args[at])) args[at] = guarded(args[at] as RequestListener);
    return createServer(...args);
  };
}

const isExpressApp = (listener: unknown): boolean =>
  typeof listener === 'function' &&
  typeof (listener as { use?: unknown }).use === 'function' &&
  typeof (listener as { handle?: unknown }).handle === 'function';
