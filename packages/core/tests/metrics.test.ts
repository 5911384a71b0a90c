import { ConfigError, loadConfig } from '../src/index.ts';
import { createApp } from '../src/app.ts';
import { jsonLogger, RequestLogs, type Logger } from '../src/logger.ts';
import { configProblems, validEnv } from './fixtures/env.ts';

const valid = validEnv;
const problems = configProblems;

const recording = (): Logger & { lines: Array<[string, string, Record<string, unknown> | undefined]> } => {
  const lines: Array<[string, string, Record<string, unknown> | undefined]> = [];
  return {
    lines,
    info: (m, f) => lines.push(['info', m, f]),
    warn: (m, f) => lines.push(['warn', m, f]),
    error: (m, f) => lines.push(['error', m, f]),
  };
};

describe('metrics settings', () => {
  it('defaults to no exporter, every minute', async () => {
    const { operations } = await loadConfig(valid);
    expect(operations).toMatchObject({ metricsExporter: 'none', metricsIntervalMs: 60_000, healthWindowMs: 60_000 });
  });

  it('names an unknown exporter, a missing connection string and an interval out of range in one error', async () => {
    expect(await problems({ ...valid, G2K_METRICS_EXPORTER: 'prometheus', G2K_METRICS_INTERVAL_MS: '10' })).toEqual([
      'G2K_METRICS_EXPORTER must be one of none, console, azure-monitor, google-cloud, got a value of 10 character(s) (not shown: a secret pasted into the wrong setting must not reach the logs).',
      "G2K_METRICS_INTERVAL_MS must be a whole number from 5000 to 600000, got '10'.",
    ]);
    const missing = await problems({ ...valid, G2K_METRICS_EXPORTER: 'azure-monitor' });
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatch(/^APPLICATIONINSIGHTS_CONNECTION_STRING is not set/);
  });

  it('refuses a cloud’s exporter where the platform does not supply it, saying which ones it has', async () => {
    const config = await loadConfig({
      ...valid,
      G2K_METRICS_EXPORTER: 'azure-monitor',
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000001',
    });
    expect(() => createApp(config, { metricExporters: {} })).toThrow(ConfigError);
    expect(() => createApp(config, { metricExporters: {} })).toThrow(/azure-monitor is not available on this platform/);
  });

  it('the console exporter writes one line of cumulative series per export', async () => {
    const log = recording();
    const config = await loadConfig({ ...valid, G2K_METRICS_EXPORTER: 'console', G2K_METRICS_INTERVAL_MS: '600000' });
    const app = createApp(config, { logger: log });
    app.metrics.item('produced');
    app.metrics.item('rejected', 'client_state_mismatch');
    app.metrics.answered(202, 3_100);
    await app.close();
    const exports = log.lines.filter(([, m]) => m === 'metrics');
    expect(exports).toHaveLength(1);
    expect(exports[0]![2]!.metrics).toMatchObject({
      'g2k.notifications{outcome=produced}': 1,
      'g2k.notifications{outcome=rejected,reason=client_state_mismatch}': 1,
      'g2k.posts{status=202}': 1,
      'g2k.posts.slow{status=202}': 1,
      'g2k.answer.duration{status=202}.count': 1,
      'g2k.answer.duration{status=202}.mean': 3_100,
    });
  });
});

describe('request logs', () => {
  it('sends a request’s lines to its logger until it is answered, then to the fallback', async () => {
    const fallback = recording();
    const request = recording();
    const logs = new RequestLogs(fallback);
    let background: Promise<void> | undefined;
    await logs.run(request, async () => {
      logs.logger.info('during', { a: 1 });
      await new Promise((r) => setTimeout(r, 5));
      logs.logger.warn('after a wait');
      // Work the request starts and leaves running (a background repair) logs after the answer.
      background = new Promise((r) => setTimeout(r, 20)).then(() => logs.logger.error('in the background'));
    });
    await background;
    logs.logger.info('outside');
    expect(request.lines.map(([level, m]) => `${level} ${m}`)).toEqual(['info during', 'warn after a wait']);
    expect(fallback.lines.map(([level, m]) => `${level} ${m}`)).toEqual(['error in the background', 'info outside']);
  });

  it('keeps concurrent requests apart', async () => {
    const logs = new RequestLogs(jsonLogger);
    const a = recording();
    const b = recording();
    await Promise.all([
      logs.run(a, async () => {
        await new Promise((r) => setTimeout(r, 10));
        logs.logger.info('a');
      }),
      logs.run(b, async () => {
        logs.logger.info('b');
        await new Promise((r) => setTimeout(r, 20));
        logs.logger.info('b again');
      }),
    ]);
    expect(a.lines.map(([, m]) => m)).toEqual(['a']);
    expect(b.lines.map(([, m]) => m)).toEqual(['b', 'b again']);
  });
});
