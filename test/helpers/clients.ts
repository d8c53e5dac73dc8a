/**
 * Real clients for tests: graphql-ws over a real socket, fetch for HTTP and SSE, with queue-backed
 * streams so no event can slip between two waits.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import { createClient, type Client, type ClientOptions } from 'graphql-ws';
import WebSocket from 'ws';
import { within } from './wait.js';

/** Events pushed by a subscription, read in order with deadlines. */
export class Stream<T> {
  readonly items: T[] = [];
  error: unknown;
  completed = false;
  private readIndex = 0;
  private wake: (() => void) | undefined;
  dispose: () => void = () => {};

  push(item: T): void {
    this.items.push(item);
    this.notify();
  }

  fail(error: unknown): void {
    this.error = error;
    this.notify();
  }

  complete(): void {
    this.completed = true;
    this.notify();
  }

  /** The next unread item. */
  async next(timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.readIndex >= this.items.length) {
      if (this.error !== undefined) throw new Error(`stream failed: ${describe(this.error)}`);
      if (this.completed) throw new Error('stream completed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for event #${this.readIndex + 1}`);
      await within(new Promise<void>((resolve) => (this.wake = resolve)), left, `event #${this.readIndex + 1}`).catch(() => {});
    }
    return this.items[this.readIndex++]!;
  }

  async take(count: number, timeoutMs = 10_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    const out: T[] = [];
    for (let i = 0; i < count; i++) out.push(await this.next(Math.max(1, deadline - Date.now())));
    return out;
  }

  /** Resolves once the stream errored or completed. */
  async ended(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.error === undefined && !this.completed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for the stream to end`);
      await within(new Promise<void>((resolve) => (this.wake = resolve)), left, 'end').catch(() => {});
    }
  }

  /** Asserts that nothing more arrives within `ms`. */
  async expectNothing(ms: number): Promise<void> {
    const before = this.items.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.items.length > before) {
      throw new Error(`expected no more events, got ${JSON.stringify(this.items.slice(before))}`);
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (Array.isArray(error)) return JSON.stringify(error);
  if (error && typeof error === 'object' && 'code' in error) {
    const { code, reason } = error as { code: number; reason?: string };
    return `close ${code} ${reason ?? ''}`;
  }
  return JSON.stringify(error);
}

export function wsClient(url: string, options: Partial<ClientOptions> = {}): Client {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, ...options });
}

export function subscribeWs<TResult, TVariables extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Stream<ExecutionResult<TResult>> {
  const stream = new Stream<ExecutionResult<TResult>>();
  stream.dispose = client.subscribe<TResult>(
    { query: print(document), variables },
    {
      next: (result) => stream.push(result as ExecutionResult<TResult>),
      error: (error) => stream.fail(error),
      complete: () => stream.complete(),
    },
  );
  return stream;
}

/** Runs one operation over the socket (query or mutation). */
export async function executeWs<TResult, TVariables extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<ExecutionResult<TResult>> {
  const stream = subscribeWs(client, document, variables);
  const result = await stream.next();
  stream.dispose();
  return result;
}

export interface HttpResult<T> {
  status: number;
  body: ExecutionResult<T>;
}

export async function postGraphQL<TResult, TVariables>(
  url: string,
  document: TypedDocumentNode<TResult, TVariables> | string,
  variables?: TVariables,
): Promise<HttpResult<TResult>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query: typeof document === 'string' ? document : print(document), variables }),
  });
  return { status: response.status, body: (await response.json()) as ExecutionResult<TResult> };
}

/** Reads a subscription over server-sent events (GET, as an EventSource does). */
export function subscribeSse<TResult, TVariables>(
  url: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  headers: Record<string, string> = {},
): Stream<ExecutionResult<TResult>> & { opened: Promise<Response> } {
  const stream = new Stream<ExecutionResult<TResult>>() as Stream<ExecutionResult<TResult>> & { opened: Promise<Response> };
  const controller = new AbortController();
  const target = new URL(url);
  target.searchParams.set('query', print(document));
  target.searchParams.set('variables', JSON.stringify(variables));
  stream.dispose = () => controller.abort();
  stream.opened = fetch(target, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  stream.opened
    .then(async (response) => {
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = frame
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (event === 'next') stream.push(JSON.parse(data) as ExecutionResult<TResult>);
          if (event === 'complete') stream.complete();
        }
      }
      stream.complete();
    })
    .catch((error: unknown) => {
      if (!controller.signal.aborted) stream.fail(error);
    });
  return stream;
}

/**
 * graphql-transport-ws has no "subscribed" acknowledgement, so a test cannot know when the server
 * has accepted a subscription without a cursor. This publishes probes until one arrives, then reads
 * up to the last probe, so the stream is known to be live and fully read. Returns that last seq.
 */
export async function untilLive<T>(
  stream: Stream<ExecutionResult<T>>,
  seqOf: (result: ExecutionResult<T>) => number,
  probe: () => Promise<{ seq: number }>,
  timeoutMs = 10_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let lastProbe = 0;
  while (stream.items.length === 0) {
    if (Date.now() > deadline) throw new Error(`subscription not live after ${timeoutMs} ms`);
    lastProbe = (await probe()).seq;
    await within(new Promise<void>((resolve) => setTimeout(resolve, 25)), 1_000, 'probe interval');
  }
  for (;;) {
    const seq = seqOf(await stream.next(Math.max(1, deadline - Date.now())));
    if (seq >= lastProbe) return seq;
  }
}
