/**
 * Subscriptions through Yoga's envelop, stopped at the source stream. Direct delivery (ws-delivery.ts)
 * renders each room event once per group of subscribers instead of executing per subscriber, so it
 * needs the source stream, not graphql-js's per-subscriber result stream; but it must get it through
 * envelop, so that every plugin's `onSubscribe` (authorization, error masking, limits) runs for it as
 * for any other subscription. Envelop lets a plugin replace the subscribe function: this one, last in
 * the list, swaps in graphql-js's createSourceEventStream for the calls that ask for it.
 */
import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const asked = new WeakSet<object>();

/**
 * The source stream, boxed on its way back through envelop: plugins' onSubscribeResult hooks map
 * async iterables of results, which a source stream is not.
 */
class Source {
  constructor(readonly stream: AsyncIterable<unknown>) {}
}

async function sourceOf(args: ExecutionArgs): Promise<Source | ExecutionResult> {
  const result = await createSourceEventStream(args);
  return Symbol.asyncIterator in result ? new Source(result) : result;
}

/** Must be the last plugin: a later one could replace the subscribe function again. */
export function useSourceStreams(): Plugin {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      if (asked.has(args)) setSubscribeFn(sourceOf as never);
    },
  };
}

/**
 * Runs `subscribe` (envelop's) for `args`, every plugin's onSubscribe included, and returns the
 * resolver's source stream, or the error result a plugin or the resolver answered with.
 */
export async function subscribeToSource(
  subscribe: (args: ExecutionArgs) => unknown,
  args: ExecutionArgs,
): Promise<AsyncIterable<unknown> | ExecutionResult> {
  asked.add(args);
  const result = (await subscribe(args)) as Source | ExecutionResult;
  return result instanceof Source ? result.stream : result;
}

/**
 * A source stream that direct delivery does not render itself (presence events), as results: each
 * event executed as graphql-js's own subscribe does. Ending the results ends the source.
 */
export function executeEach(source: AsyncIterable<unknown>, args: ExecutionArgs): AsyncIterableIterator<ExecutionResult> {
  const events = source[Symbol.asyncIterator]();
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const step = await events.next();
      return step.done ? { value: undefined, done: true } : { value: await execute({ ...args, rootValue: step.value }), done: false };
    },
    async return() {
      await events.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      await events.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => results,
  };
  return results;
}
