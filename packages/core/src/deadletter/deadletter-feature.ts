import { errorMessage } from '../errors.ts';
import type { Feature } from '../model/feature.ts';
import { withTimeout } from '../timeout.ts';
import type { DeadLetters } from './dead-letters.ts';

/** An unreachable Kafka is named after this long, not after the client's whole retry schedule. */
const KAFKA_WAIT_MS = 10_000;

/** The dead-letter topic's part of the status report: letters not replayed yet, or why it could not be read. */
export function deadLetterFeature(letters: () => DeadLetters): Feature {
  return {
    status: {
      name: 'deadLetters',
      async read() {
        const reader = letters();
        const topic = reader.topics.join(', ');
        const value = await withTimeout(
          reader.counts(),
          KAFKA_WAIT_MS,
          () => new Error(`Kafka did not answer within ${KAFKA_WAIT_MS / 1_000} s`),
        ).then(
          (c) => ({ topic, ...c }),
          (err: unknown) => ({ topic, error: errorMessage(err) }),
        );
        if ('error' in value)
          return {
            value,
            actions: [`the dead-letter topic ${topic} could not be read: ${value.error}`],
            lines: [`Dead letters (${topic}): unreadable: ${value.error}`],
          };
        return {
          value,
          actions: value.notReplayed
            ? [
                `${value.notReplayed} dead letter(s) not replayed in ${topic}: graph2kafka deadletter list shows why, deadletter replay retries them`,
              ]
            : [],
          lines: [`Dead letters (${topic}): ${value.total}, of which ${value.notReplayed} not replayed`],
        };
      },
    },
  };
}
