import type { SubscriptionContext } from './context.ts';
import { KINDS, kindOf, type KindName } from '../kinds/index.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import { basicMode } from './mode.ts';
import { emptyReport, forEachLimited, type ReconcileReport } from './report.ts';
import type { GraphSubscription } from '../model/subscription.ts';
import { tenantsOf } from './tenants.ts';
import { sameUrl, syncTargetOf } from './want.ts';
import type { SubscriptionWrites } from './writes.ts';

/** What the ops CLI does to subscriptions by hand: renew, delete, list, resync, snapshot. */
export class SubscriptionOperations {
  private readonly ctx: SubscriptionContext;
  private readonly writes: SubscriptionWrites;

  constructor(ctx: SubscriptionContext, writes: SubscriptionWrites) {
    this.ctx = ctx;
    this.writes = writes;
  }

  private async tenants(stored?: SubscriptionRecord[]): Promise<string[]> {
    return tenantsOf(this.ctx.config, this.ctx.settings, stored ?? (await this.ctx.store.list()));
  }

  /** Renews every stored subscription now (ops: `graph2kafka subscriptions renew`). */
  async renewAll(progress: (line: string) => void = () => undefined): Promise<ReconcileReport> {
    const report = emptyReport();
    const records = (await this.ctx.store.list()).filter((r) => !r.pending);
    let done = 0;
    await forEachLimited(records, 32, async (record) => {
      try {
        if ((await this.writes.renew(record, report)) === 'gone')
          report.errors.push(`${record.id}: Graph no longer has it (run create to replace it)`);
      } catch (err) {
        report.errors.push(`${record.id}: ${(err as Error).message}`);
      }
      if (++done % 500 === 0) progress(`${done}/${records.length} renewed`);
    });
    return report;
  }

  /** Deletes one subscription, or all of this app's on the notification URL in every tenant (ops). */
  async deleteSubscriptions(target: { id: string } | { all: true }): Promise<ReconcileReport> {
    const report = emptyReport();
    if (!('all' in target)) {
      const record = await this.ctx.store.get(target.id);
      const tenantId = record?.tenantId ?? this.ctx.config.graph.homeTenantId;
      await this.writes
        .remove(tenantId, target.id, report)
        .catch((err: unknown) => report.errors.push(`${target.id}: ${(err as Error).message}`));
      return report;
    }
    for (const tenantId of await this.tenants()) {
      try {
        const ids = (await this.ctx.api.list(tenantId))
          .filter((s) => sameUrl(s.notificationUrl, this.ctx.settings.notificationUrl))
          .map((s) => s.id);
        for (const one of ids) {
          try {
            await this.writes.remove(tenantId, one, report);
          } catch (err) {
            report.errors.push(`${one}: ${(err as Error).message}`);
          }
        }
      } catch (err) {
        report.skippedTenants.push({ tenantId, reason: (err as Error).message });
        report.errors.push(`tenant ${tenantId}: ${(err as Error).message}`);
      }
    }
    return report;
  }

  /** Resyncs every subscription of one mailbox now, or its events when it has none (ops); items produced. */
  async resyncMailbox(userId: string): Promise<number> {
    const records = (await this.ctx.store.list()).filter(
      (r) => !r.pending && r.userId.toLowerCase() === userId.toLowerCase(),
    );
    const wants = records.length
      ? records.map((r) => ({ want: this.writes.wantOf(r), id: r.id }))
      : [
          {
            want: {
              tenantId: this.ctx.config.graph.homeTenantId,
              kind: KINDS.events,
              target: { userId: userId.toLowerCase() },
              resource: KINDS.events.subscriptionResource({ userId }),
              changeTypes: '',
              select: undefined,
              mode: basicMode,
            },
            id: '',
          },
        ];
    let produced = 0;
    for (const { want, id } of wants) produced += (await this.ctx.resyncer.resync(syncTargetOf(want), id)).produced;
    return produced;
  }

  /** This app's live subscriptions on the notification URL in every tenant, with whether their secret is held. */
  async listSubscriptions(): Promise<Array<GraphSubscription & { stored: boolean; tenantId: string }>> {
    const records = await this.ctx.store.list();
    const stored = new Set(records.filter((r) => !r.pending).map((r) => r.id));
    const out: Array<GraphSubscription & { stored: boolean; tenantId: string }> = [];
    for (const tenantId of await this.tenants(records)) {
      for (const s of await this.ctx.api.list(tenantId))
        if (sameUrl(s.notificationUrl, this.ctx.settings.notificationUrl))
          out.push({ ...s, stored: stored.has(s.id), tenantId });
    }
    return out;
  }

  /** Produces one target's items again from a full delta round now (`graph2kafka snapshot`); items produced. */
  async snapshotTarget(userId: string, kind: KindName): Promise<number> {
    let produced = 0;
    for (const record of await this.requestSnapshot(userId, kind)) {
      const result = await this.ctx.resyncer.snapshot(syncTargetOf(this.writes.wantOf(record)), record.id);
      produced += result.produced;
    }
    return produced;
  }

  /** Owes one target a new snapshot, which the timer's runs produce; the subscriptions it concerns. */
  async requestSnapshot(userId: string, kind: KindName): Promise<SubscriptionRecord[]> {
    const records = (await this.ctx.store.list()).filter(
      (r) => !r.pending && kindOf(r).name === kind && r.userId.toLowerCase() === userId.toLowerCase(),
    );
    if (!records.length) throw new Error(`no ${kind} subscription of ${userId} is stored: nothing to snapshot`);
    for (const record of records) await this.ctx.resyncer.restartSnapshot(syncTargetOf(this.writes.wantOf(record)));
    return records;
  }
}
