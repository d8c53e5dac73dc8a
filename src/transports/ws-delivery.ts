/**
 * Direct delivery of room events to WebSocket subscribers, the hot path.
 *
 * The textbook path costs, per event and per subscriber, a GraphQL execution, a JSON.stringify and
 * a frame. Here subscribers of the same operation (same document, operation name and variables)
 * share one render group: each event is executed and serialized once per group (parsing, validation,
 * context and the subscribe step still run through Yoga's envelop, per subscriber), and since the graphql-ws `next` frames of one event differ only by the operation id, each
 * socket gets the shared bytes with its id spliced in, written as one pre-built WebSocket frame
 * (server frames are unmasked). graphql-ws still owns the protocol: connection, ids, `complete`,
 * errors; it sees an iterator that never yields and ends when the subscription does.
 *
 * Only the source stream is shared: each subscriber's own subscribe step (the resolver, with its
 * context, and every plugin's onSubscribe: authorization included) runs through Yoga's envelop as
 * on every other path. Events render with no context at all: a group's result depends on nothing
 * but its key (document, operation name, variables) and the event, so subscribers that share a
 * group can never see what one of them alone may see.
 */
import type { Duplex } from 'node:stream';
import { execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import type { WebSocket } from 'ws';
import { EventQueue, type SubscriptionEvent } from '../broker/event-queue.js';
import { RoomcastError } from '../errors.js';
import { CompiledOperations, errorsFirst, isThenable } from '../graphql/compiled.js';
import { resumeExtensions } from '../graphql/resume.js';
import { executeEach, subscribeToSource } from '../graphql/source-stream.js';
import { DeliveryTally } from '../metrics/tally.js';
import { writeInTurn } from './turn-writes.js';

export type RenderArgs = ExecutionArgs;
/** Envelop's subscribe for the operation, which runs every plugin's onSubscribe. */
export type EnvelopedSubscribe = (args: ExecutionArgs) => unknown;

export interface Subscriber {
  readonly ws: WebSocket;
  readonly socket: Duplex;
  readonly id: string;
  /** Called instead of writing when the socket holds more than the budget: the client is too slow. */
  readonly overBudget: (bufferedBytes: number) => boolean;
}

export class RenderGroup {
  members = 0;
  /** Rendered `payload` JSON of live messages, shared by every member (the same Message object reaches all). */
  private readonly rendered = new WeakMap<object, Buffer | Promise<Buffer>>();

  private readonly args: ExecutionArgs;

  /**
   * `key`: what its members share (groupKey), held here once rather than by each member's
   * subscription; `compiled`: the operation compiled by graphql-jit, or undefined for graphql-js's execute.
   */
  constructor(
    readonly key: string,
    args: RenderArgs,
    private readonly compiled: CompiledQuery | undefined,
  ) {
    // Field resolvers of room events read only the event: no subscriber's context or root.
    this.args = {
      schema: args.schema,
      document: args.document,
      operationName: args.operationName,
      variableValues: args.variableValues,
      contextValue: {},
    };
  }

  render(event: SubscriptionEvent): Buffer | Promise<Buffer> {
    const cacheable = !(event instanceof RoomcastError) && 'seq' in event;
    const cached = cacheable ? this.rendered.get(event) : undefined;
    if (cached) return cached;
    // The operation run on the event, as graphql-js's subscribe does per event (Yoga's envelop
    // `execute` would start a new subscription for a subscription operation): compiled when it can be.
    const { compiled, args } = this;
    const result = compiled ? compiled.query(event, args.contextValue, args.variableValues) : execute({ ...args, rootValue: event });
    const extensions = event instanceof RoomcastError ? undefined : resumeExtensions(event);
    const serialize = (result: ExecutionResult) => {
      const r = errorsFirst(result);
      return Buffer.from(JSON.stringify(extensions ? { ...r, extensions: { ...r.extensions, ...extensions } } : r));
    };
    // Envelop may answer with a thenable that is not a native Promise.
    const payload = isThenable(result) ? Promise.resolve(result).then(serialize) : serialize(result);
    if (cacheable) this.rendered.set(event, payload);
    return payload;
  }
}

export class DirectDelivery {
  private readonly groups = new Map<string, RenderGroup>();
  /** Every group of an operation shares its compiled form, whatever its variables; graphql-js's execute renders the rest. */
  private readonly compiled = new CompiledOperations();

  /** `tally`: frames and bytes written (metrics). */
  constructor(private readonly tally = new DeliveryTally()) {}

  /**
   * Subscribes through envelop down to the resolver's source stream and, when it is a room
   * subscription, pipes it to the socket. Returns what graphql-ws should iterate: an error result,
   * or an iterator that yields nothing and ends with the subscription.
   */
  async subscribe(
    args: RenderArgs,
    subscribe: EnvelopedSubscribe,
    subscriber: Subscriber,
  ): Promise<ExecutionResult | AsyncIterableIterator<ExecutionResult>> {
    const source = await subscribeToSource(subscribe, args);
    if (!(source instanceof EventQueue)) return Symbol.asyncIterator in source ? executeEach(source, args) : source;
    const key = groupKey(args);
    let group = this.groups.get(key);
    if (!group) {
      group = new RenderGroup(key, args, this.compiled.get(args.schema, args.document, args.operationName));
      this.groups.set(key, group);
    }
    group.members++;
    releaseContext(args);
    const joined = group;
    const parked = new Parked(() => {
      source.close();
      if (--joined.members === 0 && this.groups.get(joined.key) === joined) this.groups.delete(joined.key);
    });
    const member = new Member(subscriber, joined, parked, this.tally);
    source.pipe((event) => member.deliver(event, source));
    return parked;
  }

  get groupCount(): number {
    return this.groups.size;
  }
}

/** One subscription's end of the hot path: render (shared), splice the id, write. */
class Member {
  private readonly prefix: Buffer;
  /** Set while an asynchronous render is pending, so later events wait their turn. */
  private tail: Promise<void> | undefined;
  /** Whether the first result went out (with the position of a subscription to several rooms). */
  private positioned = false;

  constructor(
    private readonly subscriber: Subscriber,
    private readonly group: RenderGroup,
    private readonly parked: Parked,
    private readonly tally: DeliveryTally,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(subscriber.id)},"type":"next","payload":`);
  }

  /**
   * A subscription to several rooms has a position in all of them: its first result carries it,
   * right after the event; each later one's cursor moves its own room in it, so every other result
   * is shared by the whole group as rendered.
   */
  deliver(event: SubscriptionEvent, source: EventQueue): void {
    let payload = this.group.render(event);
    if (!this.positioned && !(event instanceof RoomcastError)) {
      this.positioned = true;
      // An event queued before the pipe has its own position; one piped through is at the current one.
      const position = source.positionAfter(event) ?? source.position();
      if (position !== undefined) payload = withPosition(payload, position);
    }
    if (!this.tail && !(payload instanceof Promise)) {
      this.send(payload, event);
      return;
    }
    this.tail = (this.tail ?? Promise.resolve()).then(() => payload).then((bytes) => this.send(bytes, event));
  }

  private send(payload: Buffer, event: SubscriptionEvent): void {
    const { ws, socket } = this.subscriber;
    if (ws.readyState === ws.OPEN) {
      const bytes = frame(this.prefix, payload);
      if (!this.subscriber.overBudget(ws.bufferedAmount + bytes.length)) {
        writeInTurn(socket, bytes);
        this.tally.frames++;
        this.tally.bytes += bytes.length;
      }
    }
    if (event instanceof RoomcastError) this.parked.end();
  }
}

/**
 * The rendered payload with `"position"` added to its extensions. The render ends with the resume
 * extensions (resumeExtensions), so the payload's last two bytes close `extensions` and the result.
 */
function withPosition(payload: Buffer | Promise<Buffer>, position: string): Buffer | Promise<Buffer> {
  const add = (bytes: Buffer) =>
    Buffer.concat([bytes.subarray(0, bytes.length - 2), Buffer.from(`,"position":${JSON.stringify(position)}}}`)]);
  return payload instanceof Promise ? payload.then(add) : add(payload);
}

/**
 * graphql-ws holds each operation's execution arguments until it ends, but a member's own context
 * and variables are not needed once its source stream exists (its group renders with a copy of the
 * document and variables, and no context): let them go, which keeps an idle subscription smaller.
 */
function releaseContext(args: RenderArgs): void {
  const mutable = args as { contextValue?: unknown; variableValues?: unknown };
  mutable.contextValue = undefined;
  mutable.variableValues = undefined;
}

function groupKey(args: RenderArgs): string {
  return `${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${documentText(args)}`;
}

const documentTexts = new WeakMap<object, string>();
function documentText(args: RenderArgs): string {
  let text = documentTexts.get(args.document);
  if (text === undefined) {
    text = args.document.loc?.source.body ?? JSON.stringify(args.document);
    documentTexts.set(args.document, text);
  }
  return text;
}

const SUFFIX = 0x7d; // "}"

/** One unmasked, final text frame: `prefix` (`{"id":…,"type":"next","payload":`), `payload`, `}`. */
export function frame(prefix: Buffer, payload: Buffer): Buffer {
  const length = prefix.length + payload.length + 1;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + length);
  out[0] = 0x81; // FIN, text
  if (header === 2) {
    out[1] = length;
  } else if (header === 4) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  prefix.copy(out, header);
  payload.copy(out, header + prefix.length);
  out[header + length - 1] = SUFFIX;
  return out;
}

/** What graphql-ws iterates for a directly delivered subscription: nothing, until it ends. */
class Parked implements AsyncIterableIterator<never> {
  private ended = false;
  private wake: ((result: IteratorResult<never>) => void) | undefined;

  constructor(private readonly onEnd: () => void) {}

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
    this.wake?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<never>> {
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.wake = resolve));
  }

  return(): Promise<IteratorResult<never>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<never>> {
    this.end();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
