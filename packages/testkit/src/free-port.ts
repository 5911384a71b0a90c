import net from 'node:net';

/*
 * A port the kernel handed out for listen(0) is also in the range it hands to outgoing connections and
 * to the next listen(0) of any other test worker, so "free right now" from the ephemeral range is free
 * only until someone else's socket takes it (CI once lost `pnpm dev`'s lifecycle port that way). Ports are
 * therefore drawn below the ephemeral range (Linux default 32768–60999), each Jest worker from its own
 * slice, and checked on the wildcard address that functions-framework and the sims actually bind.
 */
const LOW = 20_000;
const HIGH = 32_000;
const SLICES = 8;
const taken = new Set<number>();

function slice(): [number, number] {
  const worker = Number(process.env.JEST_WORKER_ID ?? '0');
  const width = Math.floor((HIGH - LOW) / SLICES);
  const start = LOW + (worker % SLICES) * width;
  return [start, start + width];
}

async function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function free(port: number): Promise<boolean> {
  // '::' covers IPv4 too on a dual-stack host; a host without IPv6 answers for 0.0.0.0 instead.
  const wildcard = (await canListen(port, '::')) || (await canListen(port, '0.0.0.0'));
  return wildcard && (await canListen(port, '127.0.0.1'));
}

/** A TCP port free on this host now, outside the kernel's ephemeral range, never given twice per process. */
export async function freePort(): Promise<number> {
  const [start, end] = slice();
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = start + Math.floor(Math.random() * (end - start));
    if (taken.has(port)) continue;
    if (await free(port)) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(
    `freePort: no free TCP port found in ${start}–${end - 1} after 200 tries; is this host out of ports?`,
  );
}
