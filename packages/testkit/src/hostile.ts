import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { workspaceRoot } from './deploy-bundle.ts';

/**
 * A body built to cost a receiver memory and CPU, as probed in issue 23: `{"value":[[],[],…]}` of `bytes`
 * bytes — 349,525 empty arrays in 1 MiB, 14 heap bytes per body byte once parsed. No secret needed.
 */
export function emptyArraysBody(bytes: number): Buffer {
  const head = '{"value":[';
  const tail = ']}';
  const count = Math.floor((bytes - head.length - tail.length + 1) / 3);
  return Buffer.from(head + Array<string>(count).fill('[]').join(',') + tail);
}

/**
 * POSTs a body with its Content-Length over a connection of its own. Resolves with the status, or 'closed'
 * when the connection ended before an answer could be read.
 */
export function postRaw(
  url: string,
  body: Buffer,
  headers: Record<string, string> = {},
  /** Sends the first 64 KiB, then the rest only once this settles: a POST that stays in flight meanwhile. */
  hold?: Promise<unknown>,
): Promise<number | 'closed'> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length), ...headers },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      ['EPIPE', 'ECONNRESET', 'ECONNREFUSED'].includes(err.code ?? '') ? resolve('closed') : reject(err),
    );
    if (!hold) return void req.end(body);
    req.write(body.subarray(0, 65_536));
    void hold.finally(() => {
      if (!req.destroyed) req.end(body.subarray(65_536));
    });
  });
}

/** NODE_OPTIONS infra/gcp/deploy.sh gives the functions (its FUNCTION_NODE_OPTIONS default). */
export function deployedGcpNodeOptions(): string {
  const script = readFileSync(path.join(workspaceRoot(), 'infra', 'gcp', 'deploy.sh'), 'utf8');
  const options = /^FUNCTION_NODE_OPTIONS=\$\{FUNCTION_NODE_OPTIONS:-(.+)\}$/m.exec(script)?.[1];
  if (!options) throw new Error('infra/gcp/deploy.sh no longer sets FUNCTION_NODE_OPTIONS as expected');
  return options;
}

/**
 * The GCP notification function from source on the real functions-framework server, in a process of its own
 * with the deployed heap options, as Cloud Run runs one instance. Its output is kept, to show why it died.
 */
export function startGcpFunction(
  port: number,
  env: Record<string, string>,
  nodeOptions = deployedGcpNodeOptions(),
): { child: ChildProcess; output: string[] } {
  const root = workspaceRoot();
  const require = createRequire(path.join(root, 'packages', 'gcp-fn', 'package.json'));
  const main = path.join(path.dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
  const output: string[] = [];
  const child = spawn(
    process.execPath,
    [main, '--target=graphNotifications', `--source=${path.join(root, 'packages', 'gcp-fn')}`, `--port=${port}`],
    {
      cwd: root,
      env: {
        ...process.env,
        ...env,
        NODE_ENV: 'production',
        NODE_OPTIONS: `--conditions=@graph2kafka/source ${nodeOptions}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
  return { child, output };
}
