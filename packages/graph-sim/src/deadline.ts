/**
 * An abort signal that fires after `ms`, held by a plain timer. Not AbortSignal.timeout(): a signal nothing
 * else references can be garbage-collected before it fires, and the request it guards then hangs for good
 * (seen under load: deliveries stuck in flight forever).
 */
export function deadlineSignal(ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
