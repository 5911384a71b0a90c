import type { ClaimVerdict, FenceClaim, FenceMark, KeyFence } from './fence-types.ts';

/**
 * Gathers the fence calls that concurrent POSTs make within one turn of the event loop into one call each, so
 * a busy instance pays one store round trip per turn rather than one per POST. Sound for tokens too: callers
 * that share a token all asked before it was issued and read after, so none of their reads started before it.
 */
export class BatchingKeyFence implements KeyFence {
  private readonly inner: KeyFence;
  private readonly begins = new Batch<readonly string[], Map<string, number>>(async (requests) => {
    const tokens = await this.inner.begin([...new Set(requests.flat())]);
    return requests.map((scopes) => new Map(scopes.map((s) => [s, tokens.get(s)!])));
  });
  private readonly claims = new Batch<readonly FenceClaim[], ClaimVerdict[]>(async (requests) =>
    split(requests, await this.inner.claim(requests.flat())),
  );
  private readonly marks = new Batch<readonly FenceMark[], boolean[]>(async (requests) =>
    split(requests, await this.inner.overtaken(requests.flat())),
  );

  constructor(inner: KeyFence) {
    this.inner = inner;
  }

  begin(scopes: readonly string[]): Promise<Map<string, number>> {
    return scopes.length ? this.begins.add(scopes) : Promise.resolve(new Map<string, number>());
  }

  claim(claims: readonly FenceClaim[]): Promise<ClaimVerdict[]> {
    return claims.length ? this.claims.add(claims) : Promise.resolve([]);
  }

  overtaken(marks: readonly FenceMark[]): Promise<boolean[]> {
    return marks.length ? this.marks.add(marks) : Promise.resolve([]);
  }

  prune(before: Date, goneBefore: Date, deadline: number): Promise<number> {
    return this.inner.prune(before, goneBefore, deadline);
  }
}

/** The flat answers of a gathered call, cut back into each request's share. */
function split<R, T>(requests: ReadonlyArray<readonly R[]>, flat: T[]): T[][] {
  let at = 0;
  return requests.map((r) => flat.slice(at, (at += r.length)));
}

/** Requests made within one turn, run as one call once the turn ends; every request gets its share or the error. */
class Batch<Req, Res> {
  private waiting: Array<{ request: Req; resolve: (r: Res) => void; reject: (e: unknown) => void }> = [];
  private readonly run: (requests: Req[]) => Promise<Res[]>;

  constructor(run: (requests: Req[]) => Promise<Res[]>) {
    this.run = run;
  }

  add(request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      if (!this.waiting.length) setImmediate(() => void this.flush());
      this.waiting.push({ request, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    try {
      const results = await this.run(batch.map((w) => w.request));
      for (const [i, w] of batch.entries()) w.resolve(results[i]!);
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
