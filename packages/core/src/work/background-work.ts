import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { runTraced } from '../trace/traceparent.ts';

/**
 * An instance's background work — the opportunistic drains of the repair queue and of the series due markers
 * that the emit path's follow-ups ask for — run one job at a time, so they share the instance's Graph budget
 * instead of competing for it and for Graph's answers. A job asked for while one of its name waits is that job;
 * one asked for while its name runs waits behind it. The timer's drains run within its own shares, outside it.
 */
export class BackgroundWork {
  private readonly waiting = new Map<string, () => Promise<unknown>>();
  private running: Promise<void> | undefined;
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  add(name: string, job: () => Promise<unknown>): void {
    if (this.waiting.has(name)) return;
    this.waiting.set(name, job);
    this.running ??= this.pump().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves once nothing runs or waits (tests, close). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async pump(): Promise<void> {
    for (let next = this.waiting.entries().next(); !next.done; next = this.waiting.entries().next()) {
      const [name, job] = next.value;
      this.waiting.delete(name);
      try {
        // A task of its own: not the trace of whichever POST happened to start the pump.
        await runTraced(undefined, job);
      } catch (err) {
        this.logger.warn('background work failed; the timer run does it', { job: name, error: errorMessage(err) });
      }
    }
  }
}
