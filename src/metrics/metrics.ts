/**
 * What a replica counts, in Prometheus's terms (prom-client), for `GET /metrics` (endpoint.ts).
 *
 * One Registry per server, not prom-client's global one, so that several servers in one process
 * (tests, embedders) never share or collide on a metric. Node's default metrics (event-loop lag,
 * heap, GC) are process-wide and cannot be stopped once started (prom-client's GC observer and
 * event-loop histogram have no off switch), so they are started once per process in a registry of
 * their own and appended to every server's scrape.
 *
 * Cardinality is bounded: no label ever holds a room id, a user, a token or any other client text.
 * Labels take values from fixed sets (transport, result, error code, close code, auth reason, Redis
 * command and connection), and anything outside a set is counted as `other`.
 *
 * The delivery hot path (ws-delivery.ts, one frame per socket) adds 1 and a length to two plain
 * numbers of a DeliveryTally: no label lookup, no prom-client call per frame. The tallies become
 * counters when scraped.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AuthError } from '../auth/authenticator.js';
import type { AuthServices } from '../auth/services.js';
import type { BrokerMetrics } from '../broker/metrics.js';
import { DeliveryTally } from './tally.js';
import { CloseCode, RoomcastCloseCode } from '../close-codes.js';
import { ErrorCode, RoomcastError } from '../errors.js';

/** What the gauges read at each scrape. */
export interface GaugeSources {
  readonly webSocketConnections: () => number;
  /** Room subscriptions live on this replica (a `messagesIn` holds one per room). */
  readonly subscriptions: () => number;
  /** Rooms this replica listens to (one upstream subscription each). */
  readonly roomsListened: () => number;
  readonly brokerReady: () => Promise<boolean>;
}

const PUBLISH_CODES = new Set<string>(Object.values(ErrorCode));
// graphql-ws's CloseCode is a TypeScript enum: its values include the reverse mapping's names.
const CLOSE_CODES = new Set<number>([
  1000,
  1001,
  1005,
  1006,
  1011,
  ...Object.values(RoomcastCloseCode),
  ...Object.values(CloseCode).filter((code) => typeof code === 'number'),
]);
/** AuthError reasons (auth/authenticator.ts) by their first words; the rest of a reason may be client text. */
const AUTH_REASONS: readonly [RegExp, string][] = [
  [/^token expired/, 'expired'],
  [/^token not yet valid/, 'not_yet_valid'],
  [/^wrong issuer/, 'wrong_issuer'],
  [/^wrong audience/, 'wrong_audience'],
  [/^algorithm not allowed/, 'algorithm_not_allowed'],
  [/^bad signature/, 'bad_signature'],
  [/^no key matches/, 'no_matching_key'],
  [/^malformed token/, 'malformed'],
  [/^key set unavailable/, 'key_set_unavailable'],
  [/^revoked/, 'revoked'],
  [/^token (has no|issued in the future|lives longer)/, 'lifetime'],
  [/^(invalid .*claim|sub must be)/, 'claims'],
];

/**
 * How often the event-loop delay histogram (`nodejs_eventloop_lag_p99_seconds` and its kin) samples,
 * in ms. prom-client's 10 ms wakes an idle replica 100 times a second: 6-8 ms of CPU per second,
 * most of what a replica does idle, which every publish carries. 100 ms still catches any stall
 * longer than that; `nodejs_eventloop_lag_seconds` is measured at each scrape either way.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

let processRegistry: Registry | undefined;
/** Node's default metrics, started by the first server that serves metrics, kept for the life of the process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }
  return processRegistry;
}

export class Metrics implements BrokerMetrics {
  readonly registry = new Registry();
  readonly webSocketDelivery = new DeliveryTally();
  readonly sseDelivery = new DeliveryTally();
  /** Event streams (SSE) open now. */
  sseStreams = 0;

  private sources: GaugeSources | undefined;
  private readonly publishes: Counter<'result' | 'code'>;
  private readonly publishOk: { inc(value?: number): void };
  private readonly publishUnavailable: { inc(value?: number): void };
  private readonly rateLimited: Counter;
  private readonly gaps: Counter;
  private readonly rollbacks: Counter;
  private readonly slowConsumers: Counter;
  private readonly closes: Counter<'code'>;
  private readonly authFailures: Counter<'reason'>;
  private readonly reconnects: Counter<'connection'>;
  private readonly publishDuration: Histogram;
  private readonly deliveryLatency: Histogram;
  private readonly redisDuration: Histogram<'command'>;

  constructor(private readonly withProcessMetrics = true) {
    // Started now, so that GC and event-loop figures cover the process from the server's start.
    if (withProcessMetrics) processMetrics();
    const registers = [this.registry];
    // prom-client calls collect() with the metric as `this`; these read this Metrics' live state.
    const sources = () => this.sources;
    const sseStreams = () => this.sseStreams;
    const deliveries = () => ({ websocket: this.webSocketDelivery, sse: this.sseDelivery });
    const gauge = (name: string, help: string, read: (sources: GaugeSources) => number | Promise<number>) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const from = sources();
          if (from) this.set(Number(await read(from)));
        },
      });
    gauge('roomcast_websocket_connections', 'WebSocket connections open on this replica.', (s) => s.webSocketConnections());
    new Gauge({
      name: 'roomcast_sse_streams',
      help: 'Server-sent event streams open on this replica.',
      registers,
      collect() {
        this.set(sseStreams());
      },
    });
    gauge('roomcast_subscriptions', 'Room subscriptions live on this replica (a messagesIn subscription counts one per room).', (s) =>
      s.subscriptions(),
    );
    gauge('roomcast_rooms_listened', 'Rooms this replica listens to on the broker.', (s) => s.roomsListened());
    gauge('roomcast_broker_ready', '1 when the broker can store publishes, else 0.', async (s) => ((await s.brokerReady()) ? 1 : 0));

    this.publishes = new Counter({
      name: 'roomcast_publishes_total',
      help: 'Publishes (publish and broadcast mutations) by result: ok; rejected, with the error code; unavailable (the broker could not be reached).',
      labelNames: ['result', 'code'],
      registers,
    });
    this.publishOk = this.publishes.labels({ result: 'ok' });
    this.publishUnavailable = this.publishes.labels({ result: 'unavailable' });
    // Present from the start, so that a rate over them is defined before the first publish.
    this.publishOk.inc(0);
    this.publishUnavailable.inc(0);
    this.rateLimited = new Counter({
      name: 'roomcast_publishes_rate_limited_total',
      help: 'Publishes refused by PUBLISH_RATE_LIMIT.',
      registers,
    });

    const tally = (name: string, help: string, read: (t: DeliveryTally) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['transport'],
        registers,
        collect() {
          this.reset();
          const { websocket, sse } = deliveries();
          this.inc({ transport: 'websocket' }, read(websocket));
          this.inc({ transport: 'sse' }, read(sse));
        },
      });
    tally('roomcast_messages_delivered_total', 'Frames of room events written to subscribers, by transport.', (t) => t.frames);
    tally(
      'roomcast_delivered_bytes_total',
      'Bytes of those frames (WebSocket: the frames as written; SSE: the event text, before HTTP chunking).',
      (t) => t.bytes,
    );

    this.gaps = new Counter({
      name: 'roomcast_history_gaps_total',
      help: 'HistoryGap events sent to subscribers (messages no longer held when they resumed).',
      registers,
    });
    this.rollbacks = new Counter({
      name: 'roomcast_history_rollbacks_total',
      help: 'Rooms whose history went back behind messages this replica had delivered (Redis lost acknowledged messages), each given a new epoch.',
      registers,
    });
    this.slowConsumers = new Counter({
      name: 'roomcast_slow_consumer_closes_total',
      help: 'WebSocket connections closed for reading too slowly (4008).',
      registers,
    });
    this.closes = new Counter({
      name: 'roomcast_websocket_closes_total',
      help: 'WebSocket connections closed, by close code (unknown codes: other).',
      labelNames: ['code'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'roomcast_auth_failures_total',
      help: 'Tokens refused, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.reconnects = new Counter({
      name: 'roomcast_redis_reconnects_total',
      help: 'Reconnection attempts of the Redis connections of this replica.',
      labelNames: ['connection'],
      registers,
    });

    this.publishDuration = new Histogram({
      name: 'roomcast_publish_duration_seconds',
      help: 'Publish mutations, from the start of the resolver to the message stored (or the failure).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: 'roomcast_delivery_latency_seconds',
      help: 'From publishedAt of a message (the clock of the broker) to this replica handing it to its subscribers; once per message per replica.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.redisDuration = new Histogram({
      name: 'roomcast_redis_command_duration_seconds',
      help: 'Redis commands of the broker: publish (the publish script), read (the history script).',
      labelNames: ['command'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
  }

  /** Sets where the gauges read from, once the things they measure exist. */
  watch(sources: GaugeSources): void {
    this.sources = sources;
  }

  /** Counts and times one publish: its result, and the time until it was stored or failed. */
  async observePublish<T>(work: () => Promise<T>): Promise<T> {
    const end = this.publishDuration.startTimer();
    try {
      const result = await work();
      this.publishOk.inc();
      return result;
    } catch (error) {
      const code = error instanceof RoomcastError ? error.code : undefined;
      if (code === ErrorCode.UNAVAILABLE) this.publishUnavailable.inc();
      else this.publishes.inc({ result: 'rejected', code: code && PUBLISH_CODES.has(code) ? code : 'other' });
      if (code === ErrorCode.RATE_LIMITED) this.rateLimited.inc();
      throw error;
    } finally {
      end();
    }
  }

  delivering(publishedAt: number): void {
    // Clocks of replicas and Redis may differ a little: never a negative latency.
    this.deliveryLatency.observe(Math.max(0, Date.now() - publishedAt) / 1000);
  }

  historyGap(): void {
    this.gaps.inc();
  }

  historyRollback(): void {
    this.rollbacks.inc();
  }

  async redisCommand<T>(command: 'publish' | 'read', work: Promise<T>): Promise<T> {
    const end = this.redisDuration.startTimer({ command });
    try {
      return await work;
    } finally {
      end();
    }
  }

  redisReconnect(connection: 'publisher' | 'subscriber'): void {
    this.reconnects.inc({ connection });
  }

  slowConsumerClose(): void {
    this.slowConsumers.inc();
  }

  webSocketClose(code: number): void {
    this.closes.inc({ code: CLOSE_CODES.has(code) ? String(code) : 'other' });
  }

  /** `reason`: an AuthError's message, reduced to one of a fixed set of words. */
  authFailure(reason: string): void {
    this.authFailures.inc({ reason: AUTH_REASONS.find(([pattern]) => pattern.test(reason))?.[1] ?? 'other' });
  }

  /** The scrape: this server's metrics, then the process's. */
  async text(): Promise<string> {
    const own = await this.registry.metrics();
    return this.withProcessMetrics ? own + (await processMetrics().metrics()) : own;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Forgets the gauges' sources (so a scrape after close reads nothing of a closed server). */
  close(): void {
    this.sources = undefined;
  }
}

/** The auth services with every refused token counted by reason (on every transport: all verify through it). */
export function withAuthMetrics(auth: AuthServices, metrics: Metrics): AuthServices {
  const { authenticator } = auth;
  if (!authenticator.enabled) return auth;
  return {
    ...auth,
    close: () => auth.close(),
    authenticator: {
      enabled: authenticator.enabled,
      anonymous: authenticator.anonymous,
      async verify(token) {
        try {
          return await authenticator.verify(token);
        } catch (error) {
          if (error instanceof AuthError) metrics.authFailure(error.message);
          throw error;
        }
      },
    },
  };
}

/** `work` counted and timed when the broker has metrics (for the publish resolvers, which reach nothing else per server). */
export function observedPublish<T>(broker: { readonly metrics?: BrokerMetrics | undefined }, work: () => Promise<T>): Promise<T> {
  return broker.metrics ? broker.metrics.observePublish(work) : work();
}
