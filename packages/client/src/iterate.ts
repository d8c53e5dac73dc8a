/** graphql-ws's `iterate`, over another `subscribe` (the resuming one). */
import type { FormattedExecutionResult, Sink, SubscribePayload } from 'graphql-ws/client';

type Subscribe<Data, Extensions> = (payload: SubscribePayload, sink: Sink<FormattedExecutionResult<Data, Extensions>>) => () => void;

export function iterate<Data, Extensions>(
  subscribe: Subscribe<Data, Extensions>,
  payload: SubscribePayload,
): AsyncIterableIterator<FormattedExecutionResult<Data, Extensions>> {
  const pending: FormattedExecutionResult<Data, Extensions>[] = [];
  let wake: (() => void) | undefined;
  let failure: { error: unknown } | undefined;
  let done = false;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const dispose = subscribe(payload, {
    next: (value) => {
      pending.push(value);
      notify();
    },
    error: (error) => {
      failure = { error };
      notify();
    },
    complete: () => {
      done = true;
      notify();
    },
  });
  const iterator: AsyncIterableIterator<FormattedExecutionResult<Data, Extensions>> = {
    async next() {
      for (;;) {
        const value = pending.shift();
        if (value) return { value, done: false };
        if (failure) throw failure.error;
        if (done) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return() {
      done = true;
      dispose();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
