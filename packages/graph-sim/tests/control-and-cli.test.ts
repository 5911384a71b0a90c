import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import type { GraphSim } from '../src/index.ts';
import { call, getToken, Receiver, startSim, subscribe } from './helpers.ts';

describe('control API over HTTP', () => {
  let sim: GraphSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());

  it('changes events, reads records, moves the clock and sets faults', async () => {
    const receiver = await Receiver.start();
    try {
      const token = await getToken(sim);
      const user = sim.defaults.users[0]!.id;
      const sub = await subscribe(sim, token, receiver, { userId: user });
      const created = await call(sim, 'POST', `/_sim/users/${user}/events`, {
        json: { subject: 'From control', start: '2026-12-24T10:00:00Z', end: '2026-12-24T11:00:00Z' },
      });
      expect(created.status).toBe(201);
      expect(created.body.event).toMatchObject({ subject: 'From control', id: created.body.immutableId });
      const updated = await call(sim, 'PATCH', `/_sim/users/${user}/events/${created.body.id}`, {
        json: { subject: 'Renamed' },
      });
      expect(updated.body.event.subject).toBe('Renamed');
      await sim.settled();

      const notes = await call(sim, 'GET', `/_sim/records/notifications?subscriptionId=${sub.id}&state=delivered`);
      expect(notes.body.value.map((n: { changeType: string }) => n.changeType)).toEqual(['created', 'updated']);
      const deliveries = await call(sim, 'GET', '/_sim/records/deliveries');
      expect(
        deliveries.body.value.some(
          (d: { kind: string; outcome: string }) => d.kind === 'handshake' && d.outcome === 'delivered',
        ),
      ).toBe(true);
      const requests = await call(sim, 'GET', '/_sim/records/requests?pathContains=subscriptions');
      expect(requests.body.value[0]).toMatchObject({ method: 'POST', status: 201, appId: sim.defaults.clientId });

      const before = Date.parse((await call(sim, 'GET', '/_sim/clock')).body.now as string);
      const moved = await call(sim, 'POST', '/_sim/clock', { json: { advanceMinutes: 30 } });
      expect(Date.parse(moved.body.now as string) - before).toBeGreaterThanOrEqual(30 * 60_000);

      const faults = await call(sim, 'PATCH', '/_sim/faults', { json: { throttleRate: 1 } });
      expect(faults.body.faults.throttleRate).toBe(1);
      expect((await call(sim, 'GET', `/v1.0/users/${user}/events/${created.body.id}`, { token })).status).toBe(429);
      await call(sim, 'DELETE', '/_sim/faults');
      expect((await call(sim, 'GET', `/v1.0/users/${user}/events/${created.body.id}`, { token })).status).toBe(200);

      const lifecycle = await call(sim, 'POST', `/_sim/subscriptions/${sub.id}/lifecycle`, {
        json: { event: 'missed' },
      });
      expect(lifecycle.status).toBe(202);
      await sim.settled();
      expect(
        receiver
          .posts()
          .some((p) => (p.body as { value: Array<{ lifecycleEvent?: string }> }).value[0]?.lifecycleEvent === 'missed'),
      ).toBe(true);
    } finally {
      await receiver.stop();
    }
  });

  it.each([
    [
      'an out-of-range fault rate',
      'PATCH',
      '/_sim/faults',
      { throttleRate: 2 },
      400,
      /throttleRate must be a number from 0 to 1/,
    ],
    [
      'an unknown event field',
      'POST',
      '/_sim/users/adele@contoso.onmicrosoft.com/events',
      { colour: 'red' },
      400,
      /unknown event field/,
    ],
    ['an unknown user', 'POST', '/_sim/users/nobody/events', {}, 404, /no user nobody/],
    [
      'an unknown lifecycle event',
      'POST',
      '/_sim/subscriptions/x/lifecycle',
      { event: 'boom' },
      400,
      /event must be one of/,
    ],
    ['a backwards clock', 'POST', '/_sim/clock', { advanceMs: -5 }, 400, /advance/],
    ['a zero clock speed', 'POST', '/_sim/clock', { speed: 0 }, 400, /speed/],
    ['an unknown control path', 'GET', '/_sim/nothing', undefined, 404, /no control endpoint/],
  ])('answers %s with a clear error', async (_name, method, path, json, status, message) => {
    const res = await call(sim, method, path, json === undefined ? {} : { json });
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
  });
});

describe('graph-sim CLI', () => {
  const cli = join(__dirname, '..', 'src', 'cli.ts');

  it('runs standalone, prints its URLs and environment, serves the control API, and stops on SIGINT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graph-sim-cli-'));
    const caFile = join(dir, 'ca.pem');
    const child = spawn(
      process.execPath,
      [
        cli,
        '--port',
        '0',
        '--ca-file',
        caFile,
        '--silent-drop-rate',
        '0.01',
        '--duplicate-delivery-rate',
        '0.02',
        '--duplicate-delay-ms',
        '1500',
        '--delay-delivery-rate',
        '0.03',
        '--delay-delivery-ms',
        '7000',
        '--calendar-edit-notifications',
        '2-3',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 15_000;
    while (!out.includes('Ctrl-C stops.') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(out).toContain('Ctrl-C stops.');
    const graph = /GRAPH_BASE_URL=(\S+)/.exec(out)![1]!;
    expect(out).toMatch(/AZURE_AUTHORITY_HOST=https:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain(`NODE_EXTRA_CA_CERTS=${caFile}`);
    const get = (path: string): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        request(graph.replace('/v1.0', path), { ca: readFileSync(caFile) }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        })
          .on('error', reject)
          .end();
      });
    expect(JSON.parse(await get('/_sim/info')).urls.graph).toBe(graph);
    expect(JSON.parse(await get('/_sim/faults')).faults).toMatchObject({
      silentDropRate: 0.01,
      duplicateDeliveryRate: 0.02,
      duplicateDelayMs: 1500,
      delayDeliveryRate: 0.03,
      delayDeliveryMs: 7000,
      calendarEditNotifications: { min: 2, max: 3 },
    });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it.each([
    [['--speed', 'fast'], "graph-sim: --speed must be a number, got 'fast'"],
    [
      ['--calendar-edit-notifications', 'two'],
      "graph-sim: --calendar-edit-notifications must be a count or a range like 2-3, got 'two'",
    ],
    // Bounds are checked where every other way of setting the faults is checked too.
    [['--silent-drop-rate', '2'], 'graph-sim: faults.silentDropRate must be a number from 0 to 1, got 2'],
    [
      ['--calendar-edit-notifications', '3-2'],
      'graph-sim: faults.calendarEditNotifications must be {min, max} with integers 1 <= min <= max <= 5, got {"min":3,"max":2}',
    ],
  ])('refuses the bad option %j with one clear line and exit code 2', async (args, message) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(err.trim()).toBe(message);
  });

  it('says so when the port is taken', async () => {
    const sim = await startSim();
    try {
      const port = new URL(sim.urls.base).port;
      const child = spawn(process.execPath, [cli, '--port', port], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(1);
      expect(err).toMatch(/port already in use/);
    } finally {
      await sim.stop();
    }
  });
});
