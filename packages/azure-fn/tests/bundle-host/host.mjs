// A minimal Functions host for a deploy bundle folder: loads the app's entry (package.json main) as the Node
// worker does, lists what it registered on stdout (one JSON line), and serves its HTTP triggers on
// http://127.0.0.1:PORT/api/<route> by calling the registered handlers with @azure/functions' own
// HttpRequest and InvocationContext. Run from the bundle folder: node host.mjs PORT
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const started = performance.now();
const require = createRequire(path.join(process.cwd(), 'package.json'));
const core = require('@azure/functions-core');
const { HttpRequest, InvocationContext } = require('@azure/functions');
const manifest = JSON.parse(await readFile('package.json', 'utf8'));
await import(pathToFileURL(path.resolve(manifest.main)).href);

const functions = core.registrations.map(({ metadata }) => {
  const trigger = Object.values(metadata.bindings).find((b) => b.direction === 'in');
  return {
    name: metadata.name,
    type: trigger.type,
    route: trigger.route,
    methods: trigger.methods,
    schedule: trigger.schedule,
    authLevel: trigger.authLevel,
  };
});
const routes = new Map(
  core.registrations
    .map((r) => [Object.values(r.metadata.bindings).find((b) => b.type === 'httpTrigger')?.route, r])
    .filter(([route]) => route),
);

let invocation = 0;
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const route = new URL(req.url, 'http://host.invalid').pathname.replace(/^\/api\//, '');
    const registration = routes.get(route);
    if (!registration) {
      res.writeHead(404).end();
      return;
    }
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const body = Buffer.concat(chunks);
    const request = new HttpRequest({
      method: req.method,
      url: `http://127.0.0.1${req.url}`,
      headers,
      ...(body.length ? { body: { bytes: body } } : {}),
    });
    const context = new InvocationContext({
      invocationId: `inv-${++invocation}`,
      functionName: registration.metadata.name,
      logHandler: (level, ...args) => process.stderr.write(`[${level}] ${args.map(String).join(' ')}\n`),
    });
    try {
      const answer = await registration.handler(request, context);
      res.writeHead(answer.status ?? 200, answer.headers ?? {});
      res.end(typeof answer.body === 'string' ? answer.body : undefined);
    } catch (err) {
      process.stderr.write(`[host] ${registration.metadata.name} failed: ${err?.stack ?? err}\n`);
      res.writeHead(500).end();
    }
  });
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ functions, loadMs: Math.round(performance.now() - started) })}\n`);
});
