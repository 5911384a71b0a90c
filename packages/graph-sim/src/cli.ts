#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GraphSim } from './sim.ts';

const USAGE = `graph-sim — a Microsoft Graph simulator for calendar change notifications

Usage: graph-sim [options]
  --host <addr>          listen address (default 127.0.0.1)
  --port <n>             HTTPS port (default 8443; 0 picks a free one)
  --speed <x>            simulated clock speed (default 1; 60 = one minute per second)
  --seed <n>             seed for fault injection and shuffles (default 1)
  --ca-file <path>       where to write the CA certificate clients must trust (default .cache/graph-sim/ca.pem)
  --latency-ms <n>       latency added to every Graph answer
  --throttle-rate <r>    share of Graph reads answered 429 (0..1)
  --unavailable-rate <r> share of Graph reads answered 503 (0..1)
  --extra-users <n>      extra users per tenant (user-0001@…)
  --help                 this text`;

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) {
    console.error(`graph-sim: --${name} must be a number, got '${value}'`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        speed: { type: 'string' },
        seed: { type: 'string' },
        'ca-file': { type: 'string' },
        'latency-ms': { type: 'string' },
        'throttle-rate': { type: 'string' },
        'unavailable-rate': { type: 'string' },
        'extra-users': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    console.error(`graph-sim: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const sim = await GraphSim.start({
    host: values.host ?? '127.0.0.1',
    port: number(values.port, 'port', 8443),
    clockSpeed: number(values.speed, 'speed', 1),
    seed: number(values.seed, 'seed', 1),
    extraUsersPerTenant: number(values['extra-users'], 'extra-users', 0),
    faults: {
      latencyMs: number(values['latency-ms'], 'latency-ms', 0),
      throttleRate: number(values['throttle-rate'], 'throttle-rate', 0),
      unavailableRate: number(values['unavailable-rate'], 'unavailable-rate', 0),
    },
  });
  const caFile = resolve(values['ca-file'] ?? '.cache/graph-sim/ca.pem');
  mkdirSync(resolve(caFile, '..'), { recursive: true });
  writeFileSync(caFile, sim.caCertPem);
  const d = sim.defaults;
  console.log(`graph-sim listening
  Graph (v1.0)     ${sim.urls.graph}
  Login authority  ${sim.urls.authority}   (token endpoint ${sim.urls.authority}/${d.tenantId}/oauth2/v2.0/token)
  Control API      ${sim.urls.control}      (see packages/graph-sim/README.md)
  CA certificate   ${caFile}

Environment for a client of this simulator:
  GRAPH_BASE_URL=${sim.urls.graph}
  AZURE_AUTHORITY_HOST=${sim.urls.authority}
  AZURE_TENANT_ID=${d.tenantId}
  AZURE_CLIENT_ID=${d.clientId}
  AZURE_CLIENT_SECRET=${d.clientSecret}
  NODE_EXTRA_CA_CERTS=${caFile}

Users: ${d.users.map((u) => `${u.userPrincipalName} (${u.id})`).join(', ')}
Ctrl-C stops.`);
  const stop = (): void => {
    void sim.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') console.error(`graph-sim: port already in use (${e.message}); pick another with --port`);
  else console.error(`graph-sim: ${e.message}`);
  process.exit(1);
});
