#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SimUsageError } from './errors.ts';
import { DEFAULT_FAULTS } from './options.ts';
import { GraphSim } from './sim.ts';

const USAGE = `graph-sim — a Microsoft Graph simulator for Outlook and directory change notifications

Usage: graph-sim [options]
  --host <addr>                           listen address (default 127.0.0.1)
  --port <n>                              HTTPS port (default 8443; 0 picks a free one)
  --speed <x>                             simulated clock speed (default 1; 60 = one minute per second)
  --seed <n>                              seed for fault injection and shuffles (default 1)
  --ca-file <path>                        where to write the CA certificate clients must trust (default .cache/graph-sim/ca.pem)
  --latency-ms <n>                        latency added to every Graph answer
  --throttle-rate <r>                     share of Graph reads answered 429 (0..1)
  --unavailable-rate <r>                  share of Graph reads answered 503 (0..1)
  --silent-drop-rate <r>                  share of change notifications lost with no 'missed' event (0..1)
  --duplicate-delivery-rate <r>           share of delivered POSTs that are POSTed once more (0..1)
  --duplicate-delay-ms <n>                simulated ms before such a duplicate (default 2000)
  --delay-delivery-rate <r>               share of POSTs held back, so later ones overtake them (0..1)
  --delay-delivery-ms <n>                 simulated ms such a POST is held back (default 5000)
  --calendar-edit-notifications <min-max> 'updated' notifications per event edit, or a count (default 1)
  --extra-users <n>                       extra users per tenant (user-0001@…)
  --seed-teams                            seed each tenant with a team, its channel 'General' and a group chat
  --help                                  this text`;

/** The seeded team, channel and chat of a tenant, if Teams were seeded. */
function teamsLine(sim: GraphSim, tenantId: string): string {
  const { teams, chats } = sim.teamsState(tenantId);
  const team = teams[0];
  if (!team) return '';
  return `\nTeams: team ${team.id}, channel ${team.channels[0]?.id ?? '-'}, chat ${chats[0]?.chat.id ?? '-'}`;
}

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) {
    console.error(`graph-sim: --${name} must be a number, got '${value}'`);
    process.exit(2);
  }
  return n;
}

/** `2` or `2-3`: the range `calendarEditNotifications` draws from (resolveOptions checks the bounds). */
function range(
  value: string | undefined,
  name: string,
  fallback: { min: number; max: number },
): { min: number; max: number } {
  if (value === undefined) return fallback;
  const m = /^(\d+)(?:-(\d+))?$/.exec(value.trim());
  if (!m) {
    console.error(`graph-sim: --${name} must be a count or a range like 2-3, got '${value}'`);
    process.exit(2);
  }
  return { min: Number(m[1]), max: Number(m[2] ?? m[1]) };
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
        'silent-drop-rate': { type: 'string' },
        'duplicate-delivery-rate': { type: 'string' },
        'duplicate-delay-ms': { type: 'string' },
        'delay-delivery-rate': { type: 'string' },
        'delay-delivery-ms': { type: 'string' },
        'calendar-edit-notifications': { type: 'string' },
        'extra-users': { type: 'string' },
        'seed-teams': { type: 'boolean' },
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
    seedTeams: values['seed-teams'] ?? false,
    faults: {
      latencyMs: number(values['latency-ms'], 'latency-ms', 0),
      throttleRate: number(values['throttle-rate'], 'throttle-rate', 0),
      unavailableRate: number(values['unavailable-rate'], 'unavailable-rate', 0),
      silentDropRate: number(values['silent-drop-rate'], 'silent-drop-rate', 0),
      duplicateDeliveryRate: number(values['duplicate-delivery-rate'], 'duplicate-delivery-rate', 0),
      duplicateDelayMs: number(values['duplicate-delay-ms'], 'duplicate-delay-ms', DEFAULT_FAULTS.duplicateDelayMs),
      delayDeliveryRate: number(values['delay-delivery-rate'], 'delay-delivery-rate', 0),
      delayDeliveryMs: number(values['delay-delivery-ms'], 'delay-delivery-ms', DEFAULT_FAULTS.delayDeliveryMs),
      calendarEditNotifications: range(
        values['calendar-edit-notifications'],
        'calendar-edit-notifications',
        DEFAULT_FAULTS.calendarEditNotifications,
      ),
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

Users: ${d.users.map((u) => `${u.userPrincipalName} (${u.id})`).join(', ')}${teamsLine(sim, d.tenantId)}
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
  // An option out of its bounds (a rate of 2) is a bad option like an unreadable one: exit code 2.
  process.exit(err instanceof SimUsageError ? 2 : 1);
});
