import { EndpointHealth } from '../src/delivery/endpoint-health.ts';
import { resolveOptions } from '../src/options.ts';

/** Graph's slow/drop regime over its 10-minute window, on a clock the test moves by hand. */
describe('endpoint health', () => {
  const url = 'https://receiver.example/notify';
  const options = resolveOptions().delivery;
  let now: number;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  let health: EndpointHealth;
  beforeEach(() => {
    now = Date.parse('2026-01-01T00:00:00Z');
    health = new EndpointHealth(clock, options);
  });
  const answers = (n: number, ms: number): void => {
    for (let i = 0; i < n; i++) health.observe(url, ms, false, false);
  };

  it('stays normal below the minimum number of answers, however slow they are', () => {
    answers(options.healthMinSamples - 1, 5_000);
    expect(health.state(url)).toBe('normal');
  });

  it('is slow while more than 10% of the window took over 3 s, and normal again once they age out', () => {
    answers(89, 100);
    answers(11, 3_500);
    expect(health.state(url)).toBe('slow');
    // Five minutes later the same slow share stays in the window; fast answers dilute it below 10%.
    clock.advance(5 * 60_000);
    answers(11, 100);
    expect(health.state(url)).toBe('normal');
    answers(30, 3_500);
    expect(health.state(url)).toBe('slow');
    // Past the window only the newer answers count: 11 fast, 30 slow … and nothing after another window.
    clock.advance(5 * 60_000);
    expect(health.state(url)).toBe('normal'); // 41 answers left: under the minimum
    answers(59, 100);
    expect(health.state(url)).toBe('slow'); // 30 of 100
    clock.advance(10 * 60_000);
    expect(health.state(url)).toBe('normal');
  });

  it('drops for 10 minutes when more than 15% took over 10 s, then counts afresh', () => {
    answers(84, 100);
    for (let i = 0; i < 16; i++) health.observe(url, 10_500, true, true);
    expect(health.state(url)).toBe('drop');
    clock.advance(options.dropForMs - 1);
    expect(health.state(url)).toBe('drop');
    clock.advance(2);
    expect(health.state(url)).toBe('normal');
  });

  it('keeps each URL to itself', () => {
    answers(100, 4_000);
    expect(health.state(url)).toBe('slow');
    expect(health.state('https://other.example/')).toBe('normal');
  });
});
