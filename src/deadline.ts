/**
 * Settles like `promise`, or, once `ms` have passed first, with what `onTimeout` returns (or throws).
 * The timer is cleared either way, so nothing is left pending.
 */
export function withDeadline<T, F = never>(promise: Promise<T>, ms: number, onTimeout: () => F): Promise<T | F> {
  return new Promise<T | F>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: Error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Longest delay setTimeout takes (about 24.8 days); a longer one would fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Calls `fn` at the time `when` (ms since the epoch), however far away; returns a cancel function. */
export function at(when: number, fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    const left = when - Date.now();
    timer = left > MAX_TIMEOUT_MS ? setTimeout(arm, MAX_TIMEOUT_MS) : setTimeout(fn, Math.max(0, left));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
