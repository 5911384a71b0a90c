import type { RichSettings } from '../config/rich-config.ts';
import { itemIdOf, KINDS } from '../kinds/index.ts';
import type { FetchOutcome } from '../model/item-read.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ItemOutcome } from '../model/outcome.ts';
import type { VerifiedChange } from '../model/change.ts';
import type { SubscriptionRecord } from '../model/subscription.ts';
import { decryptContent, type KeyRing } from './decrypt.ts';
import type { ValidationTokenVerifier } from './validation-tokens.ts';

/** A change of a POST as the rich path sees it: the verified change, its subscription, and its raw item. */
export interface RichCandidate {
  n: VerifiedChange;
  subscription: SubscriptionRecord;
  raw: Record<string, unknown>;
}

/**
 * What the rich path decided for a change: the item it carried (no read needed), a final verdict (tampered,
 * or a key this instance does not hold yet), or `read`: the change is taken as a basic notification and read
 * from Graph, as for any subscription — so nothing unproven is produced and nothing genuine is lost.
 */
export type RichDecision = { outcome: FetchOutcome } | { verdict: ItemOutcome } | 'read';

export type RichResult =
  'decrypted' | 'no_content' | 'unproven' | 'invalid' | 'id_mismatch' | 'unknown_key' | 'key_pending';

/**
 * Opens the rich notifications of a POST. The POST's `validationTokens` are checked once, and only if an item
 * relies on them; an item is used only if the tokens cover its tenant, its content's signature holds (checked
 * before decrypting) and the decrypted item is the one its resource names. Logged without any data.
 */
export class RichOpener {
  private readonly keys: KeyRing;
  private readonly rich: RichSettings;
  private readonly verifier: ValidationTokenVerifier;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;

  constructor(deps: {
    rich: RichSettings;
    verifier: ValidationTokenVerifier;
    logger: Logger;
    metrics?: Metrics | undefined;
  }) {
    this.rich = deps.rich;
    this.keys = new Map([
      [deps.rich.current.id, deps.rich.current.key],
      ...(deps.rich.previous ? [[deps.rich.previous.id, deps.rich.previous.key] as const] : []),
    ]);
    this.verifier = deps.verifier;
    this.logger = deps.logger;
    this.metrics = deps.metrics;
  }

  async open(candidates: RichCandidate[], validationTokens: unknown): Promise<RichDecision[]> {
    const relying = candidates.map(
      (c) => c.subscription.mode === 'rich' && c.n.changeType !== 'deleted' && 'encryptedContent' in c.raw,
    );
    const verdict = relying.some(Boolean) ? await this.verifier.verify(validationTokens) : undefined;
    if (verdict && !verdict.ok)
      this.logger.warn('rich notification POST without valid validationTokens; its items are read from Graph', {
        reason: verdict.reason,
      });
    const results: RichResult[] = [];
    const decisions = candidates.map((c, i): RichDecision => {
      if (!relying[i]) {
        if (c.subscription.mode === 'rich' && c.n.changeType !== 'deleted') results.push('no_content');
        return 'read';
      }
      if (!verdict?.ok || !verdict.tenants.has(c.n.tenantId.toLowerCase())) {
        results.push('unproven');
        return 'read';
      }
      const opened = decryptContent(c.raw.encryptedContent, this.keys);
      if (!opened.ok) {
        if (opened.reason !== 'unknown_key') {
          results.push('invalid');
          return { verdict: { status: 'rejected', reason: 'rich_content_invalid' } };
        }
        const named = (c.raw.encryptedContent as { encryptionCertificateId?: unknown }).encryptionCertificateId;
        // The subscription was moved to this certificate, but this instance's settings are older: redeliver.
        if (named === c.subscription.encryptionCertificateId && named !== this.rich.current.id) {
          results.push('key_pending');
          return {
            verdict: {
              status: 'retry_later',
              reason: 'the subscription uses a certificate whose key this instance does not hold yet (a rotation)',
            },
          };
        }
        results.push('unknown_key');
        return 'read';
      }
      // A genuine encrypted blob attached to another item's notification must not become that item's record.
      if (itemIdOf(KINDS[c.n.kind], c.n.target, opened.resource) !== c.n.itemId) {
        results.push('id_mismatch');
        return { verdict: { status: 'rejected', reason: 'resource_mismatch' } };
      }
      results.push('decrypted');
      return { outcome: { kind: 'found', item: opened.resource, fromNotification: true } };
    });
    for (const r of results) this.metrics?.richItem(r);
    const odd = results.filter((r) => r !== 'decrypted' && r !== 'no_content');
    if (odd.length) this.logger.warn('rich notifications not used as sent', { results: odd });
    return decisions;
  }
}
