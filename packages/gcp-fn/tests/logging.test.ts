import { gcpRequestLogger, traceOf } from '../src/logging.ts';

describe('GCP structured logs', () => {
  afterEach(() => jest.restoreAllMocks());

  it('reads the trace from traceparent or X-Cloud-Trace-Context', () => {
    expect(traceOf({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
    });
    expect(traceOf({ 'x-cloud-trace-context': '105445AA7843BC8BF206B12000100000/1;o=1' })).toEqual({
      traceId: '105445aa7843bc8bf206b12000100000',
      spanId: '1',
    });
    expect(traceOf({ traceparent: 'garbage', 'x-cloud-trace-context': 'also garbage' })).toBeUndefined();
  });

  it('writes one JSON line with severity and the trace Cloud Logging joins with the request', () => {
    const lines: string[] = [];
    jest.spyOn(console, 'warn').mockImplementation((line: string) => void lines.push(line));
    const logger = gcpRequestLogger(
      { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      'contoso-prod',
    );
    logger.warn('notification POST: not every item was produced', { items: 2, produced: 1 });
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        severity: 'WARNING',
        message: 'notification POST: not every item was produced',
        items: 2,
        produced: 1,
        'logging.googleapis.com/trace': 'projects/contoso-prod/traces/4bf92f3577b34da6a3ce929d0e0e4736',
        'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      },
    ]);
  });
});
