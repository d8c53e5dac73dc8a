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
        reject(error);
      }
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
