import http from 'node:http';
import https from 'node:https';

export interface PostOutcome {
  status: number;
}

/** Thrown when the endpoint did not answer within the attempt's deadline. */
export class DeliveryTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * POSTs one notification batch over keep-alive connections. node:http rather than fetch: at a thousand
 * deliveries a second fetch's per-request cost made graph-sim, not the endpoint under test, the bottleneck.
 */
export class DeliveryClient {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 256 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 256 }),
  };

  post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostOutcome> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      // Settles once, whichever comes first: the answer's end, an error, or the connection closing early.
      const settle = (err: Error | undefined, status = 0): void => {
        if (!timer) return;
        clearTimeout(timer);
        timer = undefined;
        if (err) reject(err);
        else resolve({ status });
      };
      const req = (secure ? https : http).request(target, {
        method: 'POST',
        agent: secure ? this.agents.https : this.agents.http,
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
      });
      // One deadline for the whole exchange, answer body included, as Graph's timeout is.
      timer = setTimeout(() => {
        const err = new DeliveryTimeout(timeoutMs);
        req.destroy(err);
        settle(err);
      }, timeoutMs);
      req.on('error', (err) => settle(err));
      req.on('response', (res) => {
        res.on('error', (err) => settle(err));
        res.on('end', () => settle(undefined, res.statusCode ?? 0));
        res.on('close', () => settle(new Error('the connection closed before the answer ended')));
        res.resume();
      });
      req.end(body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
