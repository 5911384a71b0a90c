import type { DeliveryAttemptRecord, NotificationRecord, RequestRecord } from './types.ts';

/** An append-only log that keeps the newest `capacity` entries and counts what it had to forget. */
class BoundedLog<T> {
  private items: T[] = [];
  private forgotten = 0;

  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  push(item: T): void {
    this.items.push(item);
    // Forgetting in chunks of a quarter keeps a push O(1) amortized (one splice per entry would copy the
    // whole log each time, which a load test of 300,000 requests turns into minutes of CPU).
    if (this.items.length > this.capacity + Math.ceil(this.capacity / 4)) this.trim();
  }

  all(): readonly T[] {
    if (this.items.length > this.capacity) this.trim();
    return this.items;
  }

  /** Entries ever pushed, forgotten ones included (a reader can tell which entries are new since it last looked). */
  get total(): number {
    return this.forgotten + this.items.length;
  }

  /** Entries forgotten so far (the oldest first). */
  get evicted(): number {
    if (this.items.length > this.capacity) this.trim();
    return this.forgotten;
  }

  private trim(): void {
    const excess = this.items.length - this.capacity;
    this.items.splice(0, excess);
    this.forgotten += excess;
  }

  clear(): void {
    this.items = [];
    this.forgotten = 0;
  }
}

export interface Warning {
  at: string;
  code: string;
  message: string;
  subscriptionId?: string;
}

/**
 * What the simulator saw and did: every request, every delivery attempt, every notification and its fate.
 * Tests reconcile these against what reached Kafka.
 */
export class Records {
  readonly requests: BoundedLog<RequestRecord>;
  readonly attempts: BoundedLog<DeliveryAttemptRecord>;
  readonly warnings: BoundedLog<Warning>;
  private notifications = new Map<string, NotificationRecord>();
  notificationsEvicted = 0;

  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.requests = new BoundedLog(capacity);
    this.attempts = new BoundedLog(capacity);
    this.warnings = new BoundedLog(10_000);
  }

  addNotification(record: NotificationRecord): void {
    this.notifications.set(record.id, record);
    if (this.notifications.size > this.capacity) {
      const oldest = this.notifications.keys().next().value;
      if (oldest !== undefined) this.notifications.delete(oldest);
      this.notificationsEvicted++;
    }
  }

  notification(id: string): NotificationRecord | undefined {
    return this.notifications.get(id);
  }

  allNotifications(): NotificationRecord[] {
    return [...this.notifications.values()];
  }

  clear(): void {
    this.requests.clear();
    this.attempts.clear();
    this.warnings.clear();
    this.notifications.clear();
    this.notificationsEvicted = 0;
  }
}
