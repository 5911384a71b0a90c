import type { Server } from 'node:https';
import { handleLogin } from './auth/login-routes.ts';
import { TokenIssuer } from './auth/token-issuer.ts';
import { SimClock } from './clock.ts';
import { controlRouter, handleControl } from './control/routes.ts';
import { startHttpsServer } from './http/server.ts';
import { SimOperations } from './operations.ts';
import { resolveOptions, type GraphSimInput } from './options.ts';
import { SeededRandom } from './random.ts';
import { makeTlsMaterial } from './tls.ts';
import type { SimRequest, SimResponse } from './types.ts';
import { wireSim, type SimParts } from './wiring.ts';

export type { GraphSimUrls, SimEventView, SimItemView } from './views.ts';

/** The simulator: one HTTPS server for login, Graph v1.0 and the `/_sim` control API. */
export class GraphSim extends SimOperations {
  private readonly control;
  private server: Server | undefined;

  private constructor(parts: SimParts) {
    super(parts);
    this.control = controlRouter(this);
  }

  static async start(input: GraphSimInput = {}): Promise<GraphSim> {
    const options = resolveOptions(input);
    const clock = new SimClock(options.clockStartMs, options.clockSpeed);
    const random = new SeededRandom(options.seed);
    const [tls, issuer] = await Promise.all([
      makeTlsMaterial(),
      TokenIssuer.create(clock, random, options.tokenLifetimeMinutes),
    ]);
    const sim = new GraphSim(wireSim(options, issuer, clock, random, tls.certPem));
    const { server, port } = await startHttpsServer(tls, options.host, options.port, (req) => sim.route(req));
    sim.server = server;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const base = `https://${host}:${port}`;
    sim.parts.site.urls = { base, authority: base, graph: `${base}/v1.0`, control: `${base}/_sim` };
    return sim;
  }

  async stop(): Promise<void> {
    this.parts.dispatcher.stop();
    this.subscriptions.dispose();
    this.clock.dispose();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async route(req: SimRequest): Promise<SimResponse> {
    if (/^\/_sim(\/|$)/.test(req.path)) return handleControl(this.control, req);
    if (/^\/v1\.0(\/|$)/i.test(req.path)) return this.parts.graph.handle(req);
    const started = performance.now();
    const response = await handleLogin(this.parts.login, req, this.clock);
    this.records.requests.push({
      requestId: req.requestId,
      at: this.clock.nowIso(),
      method: req.method,
      path: req.path,
      query: req.query.toString(),
      status: response.status,
      ...(response.status >= 400 ? { errorCode: String((response.body as { error?: unknown }).error) } : {}),
      durationMs: Math.round(performance.now() - started),
    });
    return response;
  }
}
