import type { Admission } from './admission-types.ts';
import { jsonResponse, type CoreResponse } from '../model/http.ts';
import {
  BODY_COST_FACTOR,
  defaultInflightBytes,
  MAX_INFLIGHT_BYTES,
  MIN_INFLIGHT_BYTES,
} from '../config/receive-config.ts';

/**
 * POSTs up to this size may use the whole budget; larger ones only its first half. Graph's POSTs are a few KiB
 * an item, so a flood of large hostile bodies leaves the second half to them: concurrency × 64 KiB × the cost
 * factor is 40 MiB at Cloud Run's 80 POSTs per instance, well inside the default's half on either cloud.
 */
export const SMALL_POST_BYTES = 65_536;

/** The budget as the adapters see it, before any configuration is loaded (a bad value: the default). */
export function inflightBytesFromEnv(env: Record<string, string | undefined>): number {
  const n = Number(env.G2K_INFLIGHT_BYTES_MAX?.trim());
  return Number.isInteger(n) && n >= MIN_INFLIGHT_BYTES && n <= MAX_INFLIGHT_BYTES ? n : defaultInflightBytes();
}

/**
 * The instance's budget of heap for notification POSTs in flight, received and parsed. Each POST reserves its
 * worst-case cost before a byte of its body is read, so the sum of what every POST may grow to stays bounded
 * whatever the bodies hold; one that does not fit is answered at once (`overloaded`), before it costs anything.
 */
export class MemoryAdmission {
  readonly maxBytes: number;
  private readonly maxBodyBytes: number;
  private inFlight = 0;
  private largeInFlight = 0;
  /** POSTs refused since the instance started. */
  refused = 0;

  constructor(settings: { maxBytes: number; maxBodyBytes: number }) {
    this.maxBytes = settings.maxBytes;
    this.maxBodyBytes = settings.maxBodyBytes;
  }

  /** Heap bytes reserved right now. */
  get reserved(): number {
    return this.inFlight;
  }

  /**
   * Reserves room for a POST whose Content-Length says `declared` bytes (undefined or not a length: as much as
   * the body limit lets in). A declared length over the limit reserves only the limit: such a body is refused with
   * 413 before it is read, and that answer is more useful than a 503.
   */
  admit(declared: number | undefined): Admission | undefined {
    const said = declared !== undefined && Number.isFinite(declared) && declared >= 0 ? declared : undefined;
    const bytes = Math.min(said ?? this.maxBodyBytes, this.maxBodyBytes);
    const cost = bytes * BODY_COST_FACTOR;
    const large = bytes > SMALL_POST_BYTES;
    if (this.inFlight + cost > this.maxBytes || (large && this.largeInFlight + cost > this.maxBytes / 2)) {
      this.refused++;
      return undefined;
    }
    this.inFlight += cost;
    if (large) this.largeInFlight += cost;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.inFlight -= cost;
        if (large) this.largeInFlight -= cost;
      },
    };
  }
}

/** Seconds a refused sender is asked to wait: POSTs in flight are answered within Graph's 3 s. */
const RETRY_AFTER_SECONDS = 2;

/**
 * The answer to a POST that does not fit. 503, not 429: Graph's webhook contract says a POST not processed
 * must get a 5xx to be redelivered (retries with backoff for up to 4 hours); 429 is documented for Graph's own
 * API, not as an answer Graph's delivery expects from an endpoint. Either way the answer is fast, so it never
 * counts toward Graph's slow or drop states, which count answers over 3 s or 10 s.
 */
export function overloaded(): CoreResponse {
  return jsonResponse(
    503,
    {
      error: {
        code: 'Overloaded',
        message: 'this instance holds as many notification bodies as its memory allows; retry',
      },
    },
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
}

let shared: MemoryAdmission | undefined;

/**
 * The one budget of this process (both HTTP functions of an instance share its heap), made at first use from
 * the environment as the adapters read it.
 */
export function instanceAdmission(env: Record<string, string | undefined>, maxBodyBytes: number): MemoryAdmission {
  shared ??= new MemoryAdmission({ maxBytes: inflightBytesFromEnv(env), maxBodyBytes });
  return shared;
}
