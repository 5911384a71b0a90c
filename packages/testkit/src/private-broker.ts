import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { optionsFromEnv, startBroker, stopBroker, type KafkaLocalOptions } from '@graph2kafka/kafka-local';

/** A broker of the test's own (own ports, own storage), for tests that stop and restart Kafka. */
export class PrivateBroker {
  readonly options: KafkaLocalOptions;

  private constructor(options: KafkaLocalOptions) {
    this.options = options;
  }

  static async start(): Promise<PrivateBroker> {
    const options = optionsFromEnv(process.env, {
      runDir: join(mkdtempSync(join(tmpdir(), 'g2k-private-broker-')), 'run'),
      plaintextPort: await freePort(),
      saslPort: await freePort(),
      controllerPort: await freePort(),
    });
    const broker = new PrivateBroker(options);
    await startBroker(options);
    return broker;
  }

  get brokers(): string[] {
    return [`${this.options.host}:${this.options.plaintextPort}`];
  }

  /** Stops the broker, keeping its storage, so `restart()` brings back every record it held. */
  async stop(): Promise<void> {
    await stopBroker(this.options, { keepData: true });
  }

  /** Kills the broker with SIGKILL (no clean shutdown), keeping its storage for `restart()`. */
  async kill(): Promise<void> {
    await stopBroker(this.options, { keepData: true, crash: true });
  }

  async restart(): Promise<void> {
    await startBroker(this.options, { keepData: true });
  }

  async destroy(): Promise<void> {
    await stopBroker(this.options);
  }
}
