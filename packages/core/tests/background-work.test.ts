import { BackgroundWork } from '../src/work/background-work.ts';

const logger = () => {
  const warnings: unknown[] = [];
  return {
    warnings,
    logger: {
      info: () => undefined,
      warn: (_m: string, f?: Record<string, unknown>) => void warnings.push(f),
      error: () => undefined,
    },
  };
};

describe('background work (the instance queue of repair and series drains)', () => {
  it('runs one job at a time, a name once while it waits, again when asked while it runs; a failure does not stop the queue', async () => {
    const { logger: log, warnings } = logger();
    const work = new BackgroundWork(log);
    const order: string[] = [];
    let running = 0;
    let most = 0;
    let release: () => void = () => undefined;
    const job = (name: string, wait?: Promise<void>) => async () => {
      running++;
      most = Math.max(most, running);
      order.push(`${name} start`);
      if (wait) await wait;
      order.push(`${name} end`);
      running--;
    };
    const gate = new Promise<void>((r) => (release = r));
    work.add('repair', job('repair 1', gate));
    // Waiting behind the running repair: a second series request is the same job, a repair request a new one.
    work.add('series', job('series 1'));
    work.add('series', job('series twice'));
    work.add('repair', job('repair 2'));
    work.add('failing', () => Promise.reject(new Error('Graph said no')));
    release();
    await work.idle();
    expect(order).toEqual([
      'repair 1 start',
      'repair 1 end',
      'series 1 start',
      'series 1 end',
      'repair 2 start',
      'repair 2 end',
    ]);
    expect(most).toBe(1);
    expect(warnings).toEqual([{ job: 'failing', error: 'Graph said no' }]);
    work.add('series', job('series after'));
    await work.idle();
    expect(order.at(-1)).toBe('series after end');
  });
});
