/**
 * `work`, or once `ms` have passed the rejection `onTimeout` makes; the timer is cleared either way. The work
 * itself goes on (a promise cannot be cancelled): callers bound what they wait for, not what runs.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), Math.max(1, ms)))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `work`, but no longer than `ms`; what is not done by then goes on in the background. */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  const late = Symbol('late');
  await withTimeout(work, ms, () => Object.assign(new Error('late'), { [late]: true })).catch((err: unknown) => {
    if (!(err instanceof Error && late in err)) throw err;
  });
}
