import { Kafka, logLevel } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * One metadata round trip through a real client: the port accepting connections is not enough, the broker
 * must have elected its controller and registered itself before producers can use it.
 */
export async function metadataAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'kafka-local-readiness',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null && cluster.controller >= 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Polls until the broker answers metadata, `isAlive()` turns false, or the deadline passes. */
export async function waitForMetadata(
  brokers: string[],
  timeoutMs: number,
  isAlive: () => boolean,
): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) return 'exited';
    if (await metadataAnswers(brokers)) return 'ready';
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
  return 'timeout';
}
