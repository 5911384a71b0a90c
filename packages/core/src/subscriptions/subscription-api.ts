import { GraphRequestError } from '../errors.ts';
import type { GraphClient, GraphResponse } from '../graph/graph-client.ts';
import { graphPages, graphRequest, type GraphReadOptions } from '../graph/graph-reader.ts';
import { Pacer } from './pacer.ts';
import type { SubscriptionApiLimits } from '../config/config.ts';
import type { GraphSubscription, NewSubscription } from '../model/subscription.ts';

const MAX_ATTEMPTS = 8;
/**
 * Target-finding reads per tenant per 20 s (200 a second): far under Graph's per-app limit (130,000 per 10 s), and
 * one per mailbox, far under its per-mailbox one.
 */
const READS_PER_20S = 4_000;

/** Graph's `/subscriptions`, paced under its throttles, retrying 429/5xx after Retry-After. */
export class SubscriptionApi {
  private readonly graph: GraphClient;
  private readonly writes: Pacer;
  private readonly reauths: Pacer;
  private readonly lists: Pacer;
  /**
   * Reads that find targets (a mailbox's calendars, the Places API's rooms, a room's mailbox id): ordinary Graph
   * reads, not the subscription list, so they do not spend its 25-per-20-s quota — a run over many mailboxes
   * would otherwise wait on it.
   */
  private readonly reads: Pacer;

  constructor(graph: GraphClient, limits: SubscriptionApiLimits) {
    this.graph = graph;
    this.writes = new Pacer(limits.writesPer20s, 20_000, Date.now, limits.writesPer20sPerApp);
    this.reauths = new Pacer(limits.reauthorizePer20s, 20_000, Date.now, limits.reauthorizePer20sPerApp);
    this.lists = new Pacer(limits.listPer20s, 20_000, Date.now, limits.listPer20sPerApp);
    this.reads = new Pacer(READS_PER_20S, 20_000, Date.now, READS_PER_20S * 4);
  }

  /** The user members of a group (transitive members are not followed), paging through nextLink. */
  async groupMembers(tenantId: string, groupId: string): Promise<string[]> {
    const ids: string[] = [];
    let next: string | undefined = `/groups/${encodeURIComponent(groupId)}/members?$select=id&$top=999`;
    while (next) {
      const res = await this.send(this.lists, tenantId, 'GET', next);
      this.expect(res, [200], `read the members of group ${groupId}`);
      const page = res.body as { value: Array<{ id: string; '@odata.type'?: string }>; '@odata.nextLink'?: string };
      ids.push(
        ...page.value
          .filter((m) => !m['@odata.type'] || m['@odata.type'] === '#microsoft.graph.user')
          .map((m) => m.id.toLowerCase()),
      );
      next = page['@odata.nextLink'];
    }
    return ids;
  }

  /** A mailbox's calendars (id and name), paging through nextLink. */
  async calendars(tenantId: string, userId: string): Promise<Array<{ id: string; name: string }>> {
    return this.pages(
      tenantId,
      `/users/${encodeURIComponent(userId)}/calendars?$select=id,name&$top=100`,
      `list the calendars of ${userId}`,
      (c: { id?: unknown; name?: unknown }) =>
        typeof c.id === 'string' ? [{ id: c.id, name: typeof c.name === 'string' ? c.name : '' }] : [],
    );
  }

  /**
   * The addresses of the tenant's room mailboxes, from the Places API: every room, or those of one room list
   * (named by its email address).
   */
  async roomAddresses(tenantId: string, roomList: string | undefined): Promise<string[]> {
    const path = roomList
      ? `/places/${encodeURIComponent(roomList)}/microsoft.graph.roomlist/rooms?$top=100`
      : '/places/microsoft.graph.room?$top=100';
    return this.pages(
      tenantId,
      path,
      `list the rooms${roomList ? ` of room list ${roomList}` : ''}`,
      (r: { emailAddress?: unknown }) => (typeof r.emailAddress === 'string' ? [r.emailAddress.toLowerCase()] : []),
    );
  }

  /** A mailbox's object id from its address; undefined when the directory has no such user. */
  async mailboxId(tenantId: string, address: string): Promise<string | undefined> {
    const res = await this.send(this.reads, tenantId, 'GET', `/users/${encodeURIComponent(address)}?$select=id`);
    if (res.status === 404) return undefined;
    this.expect(res, [200], `read the mailbox id of ${address}`);
    const id = (res.body as { id?: unknown }).id;
    return typeof id === 'string' ? id.toLowerCase() : undefined;
  }

  private async pages<R, T>(tenantId: string, first: string, what: string, take: (item: R) => T[]): Promise<T[]> {
    const out: T[] = [];
    for await (const res of graphPages(this.graph, tenantId, first, this.options(this.reads, tenantId, 'GET'))) {
      this.expect(res, [200], what);
      const page = res.body as { value?: R[] };
      out.push(...(Array.isArray(page.value) ? page.value.flatMap(take) : []));
    }
    return out;
  }

  async list(tenantId: string): Promise<GraphSubscription[]> {
    return (await this.listUntil(tenantId, Infinity)) as GraphSubscription[];
  }

  /**
   * One page of the list, thrown away: proves the tenant's token and consent before a run starts hundreds of
   * calls in it (a revoked tenant then fails once, not once per subscription).
   */
  async probe(tenantId: string): Promise<void> {
    const res = await this.send(this.lists, tenantId, 'GET', '/subscriptions');
    this.expect(res, [200], 'list subscriptions');
  }

  /** The whole list, or `incomplete` when `deadline` came before its last page (the pages read are dropped). */
  async listUntil(tenantId: string, deadline: number): Promise<GraphSubscription[] | 'incomplete'> {
    const all: GraphSubscription[] = [];
    let next: string | undefined = '/subscriptions';
    while (next) {
      if (Date.now() >= deadline) return 'incomplete';
      const res = await this.send(this.lists, tenantId, 'GET', next);
      this.expect(res, [200], 'list subscriptions');
      const page = res.body as { value: GraphSubscription[]; '@odata.nextLink'?: string };
      all.push(...page.value);
      next = page['@odata.nextLink'];
    }
    return all;
  }

  /** One subscription as Graph has it now, or `gone`: what destructive lifecycle actions check first. */
  async get(tenantId: string, id: string): Promise<GraphSubscription | 'gone'> {
    const res = await this.send(this.lists, tenantId, 'GET', `/subscriptions/${encodeURIComponent(id)}`);
    if (res.status === 404) return 'gone';
    this.expect(res, [200], `read subscription ${id}`);
    return res.body as GraphSubscription;
  }

  /** Creates with immutable ids; `conflict` when Graph already has this app's subscription for the resource. */
  async create(tenantId: string, body: NewSubscription): Promise<GraphSubscription | 'conflict'> {
    const res = await this.send(this.writes, tenantId, 'POST', '/subscriptions', body, {
      Prefer: 'IdType="ImmutableId"',
    });
    if (res.status === 409) return 'conflict';
    this.expect(res, [201], `create a subscription on ${body.resource}`);
    return res.body as GraphSubscription;
  }

  /** A renewal; with `certificate`, a rich subscription's certificate changes too (a rotation). */
  async renew(
    tenantId: string,
    id: string,
    expirationDateTime: string,
    certificate?: { encryptionCertificate: string; encryptionCertificateId: string },
  ): Promise<GraphSubscription | 'gone'> {
    const res = await this.send(this.writes, tenantId, 'PATCH', `/subscriptions/${encodeURIComponent(id)}`, {
      expirationDateTime,
      ...certificate,
    });
    if (res.status === 404) return 'gone';
    this.expect(res, [200], `renew subscription ${id}`);
    return res.body as GraphSubscription;
  }

  async reauthorize(tenantId: string, id: string): Promise<'ok' | 'gone'> {
    const res = await this.send(this.reauths, tenantId, 'POST', `/subscriptions/${encodeURIComponent(id)}/reauthorize`);
    if (res.status === 404) return 'gone';
    this.expect(res, [200, 204], `reauthorize subscription ${id}`);
    return 'ok';
  }

  async delete(tenantId: string, id: string): Promise<void> {
    const res = await this.send(this.writes, tenantId, 'DELETE', `/subscriptions/${encodeURIComponent(id)}`);
    this.expect(res, [204, 404], `delete subscription ${id}`);
  }

  private send(
    pacer: Pacer,
    tenantId: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<GraphResponse> {
    return graphRequest(this.graph, tenantId, path, this.options(pacer, tenantId, method, body, headers));
  }

  /** Calls paced under `pacer`; a 429 holds the tenant's next calls for its Retry-After. */
  private options(
    pacer: Pacer,
    tenantId: string,
    method: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): GraphReadOptions {
    return {
      deadline: Infinity,
      maxAttempts: MAX_ATTEMPTS,
      method,
      ...(body !== undefined ? { body } : {}),
      headers: headers ?? {},
      gate: () => pacer.take(tenantId),
      onThrottled: (waitMs) => pacer.block(tenantId, waitMs),
      retryErrors: true,
    };
  }

  private expect(res: GraphResponse, ok: number[], what: string): void {
    if (ok.includes(res.status)) return;
    const error = (res.body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new GraphRequestError(
      `could not ${what}: Graph answered ${res.status} ${error?.code ?? ''} ${error?.message ?? ''}`.trim(),
      res.status,
      error?.code,
    );
  }
}
