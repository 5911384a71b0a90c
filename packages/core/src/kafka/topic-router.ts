import type { KindName } from '../kinds/index.ts';
import { templateKind, type TopicName } from '../config/kafka-config.ts';

/** The per-kind topics (G2K_TOPIC, …): every tenant's records of a kind in one topic. */
export type FixedTopics = Record<KindName, string> & { lifecycle: string; deadLetter: string };

/**
 * Where each record goes: the fixed per-kind topics (the default), or, with G2K_TOPIC_TEMPLATE, one topic per
 * kind and tenant, the lifecycle and dead-letter topics included, so that a tenant's records can be granted,
 * retained and throttled on their own.
 */
export class TopicRouter {
  readonly fixed: FixedTopics;
  readonly template: string | undefined;

  constructor(fixed: FixedTopics, template?: string) {
    this.fixed = fixed;
    this.template = template;
  }

  topic(name: TopicName, tenantId: string): string {
    if (!this.template) return this.fixed[name];
    return this.template.replaceAll('{kind}', templateKind(name)).replaceAll('{tenant}', tenantId.toLowerCase());
  }

  /** Every topic of `name` the tenants' records can be in (the dead letters an operator lists and replays). */
  topicsOf(name: TopicName, tenants: Iterable<string>): string[] {
    if (!this.template) return [this.fixed[name]];
    return [...new Set([...tenants].map((t) => this.topic(name, t)))].sort();
  }
}
