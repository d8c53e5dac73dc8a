/**
 * `npm run soak`: a bounded soak of one Roomcast server on Redis, looking for what churn leaves
 * behind: Redis channel subscriptions, heap, timers and sockets.
 *
 * This process starts its own redis-server (free port, no persistence) and ONE Roomcast server
 * in-process, so it can measure that server: heap and active handles right after start-up (after a
 * warm-up and GC), and again once the load is over. The load runs in two child processes (this same
 * file with SOAK_ROLE=worker), so the clients do not share the server's event loop. Each keeps its
 * share of SOAK_CLIENTS clients busy in cycles: connect (graphql-ws over ws), subscribe to 1-3 random
 * rooms of SOAK_ROOMS (`messages(room:)`, sometimes resuming from a cursor), hold a while, sometimes
 * publish (over HTTP or the socket), then end in one of these ways:
 *
 *   unsubscribe      complete every subscription, then close the socket normally
 *   dispose          close the socket normally with the subscriptions still active
 *   terminate        destroy the socket without a close frame
 *   terminate-early  destroy the socket a few ms after the subscribes went out (races their set-up)
 *   stall            stop reading for a while (the server keeps writing to it), then destroy the socket
 *
 * After SOAK_SECONDS the load stops; once every client is gone the soak waits (with a deadline) for
 * `PUBSUB CHANNELS roomcast:*` to be empty and every server-side socket to be closed, forces GC, and
 * compares heap and handles with the start-up figures. PASS needs: no channel left, no extra Timeout
 * or TCP handle, and heap after <= 1.5 x heap before + 5 MiB. Exit code 0 on PASS, 1 on FAIL.
 *
 *   SOAK_SECONDS   length of the load phase (default 180)
 *   SOAK_CLIENTS   concurrent clients, in total over both load processes (default 2000)
 *   SOAK_ROOMS     rooms the clients pick from (default 200)
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { withDeadline } from '../src/deadline.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Shared by the load processes and the warm-up: client cycles.

const MODES = ['unsubscribe', 'dispose', 'terminate', 'terminate-early', 'stall'] as const;
type Mode = (typeof MODES)[number];
/** Relative weights of the ways a cycle ends. */
const MODE_WEIGHTS: Record<Mode, number> = { unsubscribe: 35, dispose: 15, terminate: 30, 'terminate-early': 12, stall: 8 };

const SUBSCRIPTION = /* GraphQL */ `
  subscription Soak($room: ID!, $after: String) {
    messages(room: $room, after: $after) {
      __typename
      ... on Message {
        seq
        cursor
      }
      ... on HistoryGap {
        missed
      }
    }
  }
`;
const PUBLISH = /* GraphQL */ `
  mutation SoakPublish($room: ID!, $data: JSON!) {
    publish(room: $room, event: "soak", data: $data) {
      seq
      cursor
    }
  }
`;

interface LoadStats {
  cycles: number;
  modes: Record<Mode, number>;
  connected: number;
  connectFailed: number;
  subscribed: number;
  resumed: number;
  received: number;
  gaps: number;
  publishedHttp: number;
  publishedWs: number;
  publishFailed: number;
  unexpected: number;
  errorSamples: Record<string, number>;
  closeTimeouts: number;
}

function emptyStats(): LoadStats {
  return {
    cycles: 0,
    modes: { unsubscribe: 0, dispose: 0, terminate: 0, 'terminate-early': 0, stall: 0 },
    connected: 0,
    connectFailed: 0,
    subscribed: 0,
    resumed: 0,
    received: 0,
    gaps: 0,
    publishedHttp: 0,
    publishedWs: 0,
    publishFailed: 0,
    unexpected: 0,
    errorSamples: {},
    closeTimeouts: 0,
  };
}

interface LoadOptions {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly rooms: number;
  /** Hold time of a connection, ms, uniformly in [min, max]. */
  readonly holdMs: readonly [number, number];
  /** Publish over HTTP as well as over the socket (the warm-up avoids HTTP keep-alive sockets). */
  readonly httpPublish: boolean;
  /** Chance that a cycle publishes during its hold. */
  readonly publishChance: number;
}

const randomInt = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));

function pickMode(): Mode {
  const total = MODES.reduce((sum, mode) => sum + MODE_WEIGHTS[mode], 0);
  let r = Math.random() * total;
  for (const mode of MODES) {
    r -= MODE_WEIGHTS[mode];
    if (r < 0) return mode;
  }
  return 'unsubscribe';
}

function describeError(error: unknown): string {
  if (Array.isArray(error)) return error.map((e) => describeError(e)).join('; ');
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; reason?: string; message?: unknown; extensions?: { code?: string } };
    if (e.extensions?.code) return `graphql ${e.extensions.code}`;
    if (typeof e.code === 'number') return `close ${e.code}${e.reason ? ` ${e.reason}` : ''}`;
    if (typeof e.message === 'string') return e.message.slice(0, 120);
  }
  return String(error).slice(0, 120);
}

/** Runs client cycles on `slots` concurrent slots until `stop()`; every slot ends its last cycle its own way. */
class Load {
  readonly stats = emptyStats();
  /** Latest cursor seen per room, for subscriptions that resume. */
  private readonly cursors = new Map<string, string>();
  private stopping = false;
  private readonly wakers = new Set<() => void>();

  constructor(private readonly options: LoadOptions) {}

  stop(): void {
    this.stopping = true;
    for (const wake of [...this.wakers]) wake();
  }

  async run(slots: number, rampMs: number): Promise<void> {
    await Promise.all(
      Array.from({ length: slots }, async (_, i) => {
        await this.pause(Math.floor((rampMs * i) / slots));
        while (!this.stopping) await this.cycle();
      }),
    );
  }

  private unexpected(what: string): void {
    this.stats.unexpected++;
    const key = what.slice(0, 100);
    this.stats.errorSamples[key] = (this.stats.errorSamples[key] ?? 0) + 1;
  }

  /** Waits `ms`, or less once the load is stopping. */
  private pause(ms: number): Promise<void> {
    if (this.stopping || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private pickRooms(): string[] {
    const picked = new Set<string>();
    const count = randomInt(1, 3);
    while (picked.size < count) picked.add(`soak-${randomInt(0, this.options.rooms - 1)}`);
    return [...picked];
  }

  private async cycle(): Promise<void> {
    const { stats } = this;
    const mode = pickMode();
    let socket: WebSocket | undefined;
    let ending = false;
    let onConnected: (ok: boolean) => void = () => {};
    const connected = new Promise<boolean>((resolve) => (onConnected = resolve));
    let onClosed: () => void = () => {};
    const closed = new Promise<void>((resolve) => (onClosed = resolve));

    const client: Client = createClient({
      url: this.options.wsUrl,
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      connectionAckWaitTimeout: 15_000,
      on: {
        opened: (s) => {
          socket = s as WebSocket;
        },
        connected: () => {
          stats.connected++;
          onConnected(true);
        },
        closed: () => {
          onConnected(false);
          onClosed();
        },
        error: () => onConnected(false),
      },
    });

    const rooms = this.pickRooms();
    const unsubscribers = rooms.map((room) => {
      const after = Math.random() < 0.2 ? this.cursors.get(room) : undefined;
      stats.subscribed++;
      if (after) stats.resumed++;
      return client.subscribe<{ messages: { __typename: string; cursor?: string } }>(
        { query: SUBSCRIPTION, variables: { room, after } },
        {
          next: (result) => {
            if (result.errors) {
              if (!ending) this.unexpected(`subscription: ${describeError(result.errors)}`);
              return;
            }
            const event = result.data?.messages;
            if (event?.__typename === 'HistoryGap') stats.gaps++;
            else stats.received++;
            if (event?.cursor) this.cursors.set(room, event.cursor);
          },
          error: (error) => {
            if (!ending) this.unexpected(`subscription: ${describeError(error)}`);
          },
          complete: () => {
            if (!ending) this.unexpected('subscription completed by the server');
          },
        },
      );
    });

    const ok = await withDeadline(connected, 20_000, () => false);
    if (!ok) {
      ending = true;
      stats.connectFailed++;
      socket?.terminate();
      await disposeQuietly(client);
      await withDeadline(closed, 5_000, () => undefined);
      stats.cycles++;
      return;
    }

    if (mode === 'terminate-early') {
      // The subscribes were queued behind the acknowledgement and went out just now: end the socket
      // while the server is still setting them up.
      await new Promise((resolve) => setTimeout(resolve, randomInt(0, 5)));
    } else {
      const hold = randomInt(...this.options.holdMs);
      const started = Date.now();
      if (Math.random() < this.options.publishChance) {
        await this.pause(randomInt(0, hold / 2));
        await this.publish(client, rooms[randomInt(0, rooms.length - 1)]!);
      }
      await this.pause(hold - (Date.now() - started));
    }

    ending = true;
    stats.modes[mode]++;
    switch (mode) {
      case 'unsubscribe':
        for (const unsubscribe of unsubscribers) unsubscribe();
        await disposeQuietly(client);
        break;
      case 'dispose':
        await disposeQuietly(client);
        break;
      case 'terminate':
      case 'terminate-early':
        socket?.terminate();
        break;
      case 'stall':
        socket?.pause();
        await this.pause(randomInt(1_000, 4_000));
        socket?.terminate();
        break;
    }
    if (
      (await withDeadline(
        closed.then(() => true),
        15_000,
        () => false,
      )) === false
    ) {
      stats.closeTimeouts++;
      socket?.terminate();
    }
    // A lazy client with no subscriptions left holds nothing; dispose is idempotent.
    await disposeQuietly(client);
    stats.cycles++;
  }

  private async publish(client: Client, room: string): Promise<void> {
    const count = randomInt(1, 3);
    for (let n = 0; n < count && !this.stopping; n++) {
      const variables = { room, data: { n, at: Date.now() } };
      const overHttp = this.options.httpPublish && Math.random() < 0.5;
      try {
        const result = overHttp ? await this.publishHttp(variables) : await this.publishWs(client, variables);
        if (result.errors || !result.data)
          throw new AggregateError(result.errors ?? [], result.errors ? describeError(result.errors) : 'no data');
        this.cursors.set(room, result.data.publish.cursor);
        if (overHttp) this.stats.publishedHttp++;
        else this.stats.publishedWs++;
      } catch (error) {
        this.stats.publishFailed++;
        this.unexpected(`publish over ${overHttp ? 'http' : 'ws'}: ${describeError(error)}`);
      }
      await this.pause(randomInt(20, 80));
    }
  }

  private async publishHttp(variables: Record<string, unknown>): Promise<PublishResult> {
    const response = await fetch(this.options.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query: PUBLISH, variables }),
      signal: AbortSignal.timeout(10_000),
    });
    return (await response.json()) as PublishResult;
  }

  private publishWs(client: Client, variables: Record<string, unknown>): Promise<PublishResult> {
    return withDeadline(
      new Promise<PublishResult>((resolve, reject) => {
        let result: PublishResult | undefined;
        client.subscribe<PublishResult['data']>(
          { query: PUBLISH, variables },
          {
            next: (value) => (result = value as PublishResult),
            error: reject,
            complete: () => (result ? resolve(result) : reject(new Error('completed without a result'))),
          },
        );
      }),
      10_000,
      (): PublishResult => ({ errors: [{ message: 'publish over ws timed out' }] }),
    );
  }
}

interface PublishResult {
  data?: { publish: { seq: number; cursor: string } } | null;
  errors?: readonly unknown[];
}

/** Client.dispose() may return void or a promise that rejects when the connection was refused. */
async function disposeQuietly(client: Client): Promise<void> {
  try {
    await client.dispose();
  } catch {
    // the connection had failed already
  }
}

// ---------------------------------------------------------------------------------------------
// A load process.

type ToWorker = { type: 'stop' };
type FromWorker = { type: 'stats'; stats: LoadStats } | { type: 'done'; stats: LoadStats };

async function runWorker(): Promise<void> {
  const env = process.env;
  const load = new Load({
    httpUrl: env.SOAK_HTTP_URL!,
    wsUrl: env.SOAK_WS_URL!,
    rooms: Number(env.SOAK_ROOMS),
    holdMs: [1_000, 10_000],
    httpPublish: true,
    publishChance: 0.35,
  });
  const send = (message: FromWorker) => process.send?.(message);
  process.on('disconnect', () => process.exit(1)); // the soak process is gone
  process.on('message', (message: ToWorker) => {
    if (message.type === 'stop') load.stop();
  });
  process.on('unhandledRejection', (error) => {
    load.stats.unexpected++;
    const key = `unhandled rejection: ${describeError(error)}`;
    load.stats.errorSamples[key] = (load.stats.errorSamples[key] ?? 0) + 1;
  });
  const ticker = setInterval(() => send({ type: 'stats', stats: load.stats }), 1_000);
  await load.run(Number(env.SOAK_WORKER_CLIENTS), 5_000);
  clearInterval(ticker);
  send({ type: 'done', stats: load.stats });
  process.disconnect();
}

// ---------------------------------------------------------------------------------------------
// The soak process: Redis, the server under test, measurements and the report.

interface Worker {
  readonly child: ChildProcess;
  stats: LoadStats;
  done: boolean;
  readonly closed: Promise<void>;
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
    process.stderr.write(`soak: ${name} must be a positive integer (got ${JSON.stringify(raw)})\n`);
    process.exit(2);
  }
  return Number(raw);
}

type HandleCounts = Record<string, number>;

function activeHandles(): HandleCounts {
  const counts: HandleCounts = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

/** Handle kinds that must not grow: timers and sockets. */
const watched = (name: string): boolean => /Timeout|Immediate|TCP|Pipe/.test(name);

function extraHandles(before: HandleCounts, after: HandleCounts): string[] {
  return Object.keys(after)
    .filter((name) => watched(name) && after[name]! > (before[name] ?? 0))
    .map((name) => `${name} +${after[name]! - (before[name] ?? 0)}`);
}

const formatHandles = (counts: HandleCounts): string =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${n}`)
    .join(', ') || '(none)';

const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

function fullGc(): void {
  for (let i = 0; i < 4; i++) globalThis.gc!();
}

async function settledGc(): Promise<void> {
  // Several rounds with turns of the event loop in between, so finalizers and weak callbacks run.
  for (let i = 0; i < 3; i++) {
    fullGc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  fullGc();
}

function sumStats(all: LoadStats[]): LoadStats {
  const total = emptyStats();
  for (const s of all) {
    for (const key of Object.keys(total) as (keyof LoadStats)[]) {
      const value = total[key];
      if (typeof value === 'number') (total as unknown as Record<string, number>)[key] = value + (s[key] as number);
    }
    for (const mode of MODES) total.modes[mode] += s.modes[mode];
    for (const [what, n] of Object.entries(s.errorSamples)) total.errorSamples[what] = (total.errorSamples[what] ?? 0) + n;
  }
  return total;
}

async function runSoak(): Promise<number> {
  if (typeof globalThis.gc !== 'function') {
    process.stderr.write('soak: needs --expose-gc; run it with `npm run soak`\n');
    return 2;
  }
  const seconds = positiveInt('SOAK_SECONDS', 180);
  const clients = Math.max(2, positiveInt('SOAK_CLIENTS', 2_000));
  const rooms = positiveInt('SOAK_ROOMS', 200);
  const prefix = 'roomcast:';
  const channelPattern = `${prefix}*`;

  const { RedisServer, findRedisServerBinary } = await import('../test/helpers/redis-server.js');
  const { waitFor } = await import('../test/helpers/wait.js');
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/log.js');
  const { startServer } = await import('../src/server.js');

  const say = (line: string) => process.stdout.write(`[soak] ${line}\n`);
  const workers: Worker[] = [];
  let redis: Awaited<ReturnType<typeof RedisServer.start>> | undefined;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let admin: ReturnType<NonNullable<typeof redis>['client']> | undefined;
  let sampler: NodeJS.Timeout | undefined;

  const cleanup = async () => {
    if (sampler) clearInterval(sampler);
    for (const worker of workers) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    }
    await Promise.all(workers.map((w) => w.closed));
    await server?.close().catch((error: unknown) => say(`server close failed: ${describeError(error)}`));
    await admin?.quit().catch(() => admin?.disconnect());
    await redis?.stop();
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    say('interrupted; stopping everything');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const bin = await findRedisServerBinary();
    redis = await RedisServer.start(bin);
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' });
    server = await startServer(config, createLogger('warn'));
    const wsUrl = server.url.replace(/^http/, 'ws');
    admin = redis.client({ connectionName: 'soak:admin' });
    const redisAdmin = admin;
    const channels = async () => (await redisAdmin.call('PUBSUB', 'CHANNELS', channelPattern)) as string[];

    // WebSocket connections as the server sees them.
    let serverSockets = 0;
    let peakServerSockets = 0;
    let acceptedSockets = 0;
    server.httpServer.on('upgrade', (_request, socket: Socket) => {
      serverSockets++;
      acceptedSockets++;
      peakServerSockets = Math.max(peakServerSockets, serverSockets);
      socket.once('close', () => serverSockets--);
    });

    say(
      `${seconds} s, ${clients} concurrent clients in 2 load processes, ${rooms} rooms; ` +
        `server ${server.url} (pid ${process.pid}), redis-server ${redis.url}`,
    );

    // Warm-up in this process: the server's lazy initialisation and caches, before the baseline.
    const warmup = new Load({ httpUrl: server.url, wsUrl, rooms, holdMs: [100, 400], httpPublish: false, publishChance: 1 });
    const warmupRun = warmup.run(20, 200);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    warmup.stop();
    await warmupRun;
    await waitFor('the warm-up clients to be gone', () => serverSockets === 0, 30_000);
    await waitFor('the warm-up channels to be released', async () => (await channels()).length === 0, 30_000);
    if (warmup.stats.unexpected > 0) say(`warm-up had unexpected errors: ${JSON.stringify(warmup.stats.errorSamples)}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await settledGc();
    const before = { memory: process.memoryUsage(), handles: activeHandles() };
    say(
      `baseline after warm-up (${warmup.stats.cycles} cycles): heap ${mib(before.memory.heapUsed)} MiB, ` +
        `rss ${mib(before.memory.rss)} MiB; handles ${formatHandles(before.handles)}`,
    );

    // The load.
    acceptedSockets = 0;
    peakServerSockets = serverSockets;
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    const cpuBefore = process.cpuUsage();
    const started = Date.now();
    const perWorker = [Math.ceil(clients / 2), Math.floor(clients / 2)];
    for (const [index, share] of perWorker.entries()) {
      const child = fork(fileURLToPath(import.meta.url), [], {
        cwd: root,
        execArgv: ['--import', 'tsx'],
        env: {
          ...process.env,
          SOAK_ROLE: 'worker',
          SOAK_WORKER_INDEX: String(index),
          SOAK_WORKER_CLIENTS: String(share),
          SOAK_HTTP_URL: server.url,
          SOAK_WS_URL: wsUrl,
          SOAK_ROOMS: String(rooms),
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const worker: Worker = {
        child,
        stats: emptyStats(),
        done: false,
        closed: new Promise((resolve) => child.once('close', () => resolve())),
      };
      child.on('message', (message: FromWorker) => {
        worker.stats = message.stats;
        if (message.type === 'done') worker.done = true;
      });
      workers.push(worker);
    }

    let peakHeap = 0;
    let peakRss = 0;
    let peakChannels = 0;
    let lastReport = Date.now();
    sampler = setInterval(() => {
      const memory = process.memoryUsage();
      peakHeap = Math.max(peakHeap, memory.heapUsed);
      peakRss = Math.max(peakRss, memory.rss);
      void channels().then(
        (list) => {
          peakChannels = Math.max(peakChannels, list.length);
          if (Date.now() - lastReport >= 15_000) {
            lastReport = Date.now();
            const total = sumStats(workers.map((w) => w.stats));
            say(
              `${Math.round((Date.now() - started) / 1000)} s: ${total.cycles} cycles, ${serverSockets} sockets open, ` +
                `${list.length} channels, heap ${mib(memory.heapUsed)} MiB, rss ${mib(memory.rss)} MiB, ` +
                `${total.received} messages received, ${total.unexpected} unexpected errors`,
            );
          }
        },
        () => {},
      );
    }, 1_000);

    const exitedEarly = Promise.race(
      workers.map((w) => w.closed.then(() => (w.done ? undefined : `a load process exited early (code ${w.child.exitCode})`))),
    );
    const problem = await Promise.race([
      new Promise<undefined>((resolve) => setTimeout(resolve, seconds * 1000)),
      exitedEarly.then((why) => why),
    ]);
    const failures: string[] = [];
    if (problem) failures.push(problem);
    say(`stopping the load after ${Math.round((Date.now() - started) / 1000)} s`);
    for (const worker of workers) if (worker.child.connected) worker.child.send({ type: 'stop' } satisfies ToWorker);
    const stopped = await withDeadline(
      Promise.all(workers.map((w) => w.closed)).then(() => true),
      60_000,
      () => false,
    );
    if (!stopped) {
      failures.push('a load process did not finish its clients within 60 s (killed)');
      for (const worker of workers) worker.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.closed));
    }
    for (const worker of workers) if (!worker.done && stopped) failures.push('a load process ended without reporting');
    clearInterval(sampler);
    sampler = undefined;
    loopDelay.disable();
    const loadSeconds = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / (loadSeconds * 1000)) * 100;
    const total = sumStats(workers.map((w) => w.stats));

    // Everything is gone on the client side: the server must let go of every socket and channel.
    const drainStarted = Date.now();
    let left: string[] = [];
    try {
      await waitFor('every server-side socket to close', () => serverSockets === 0, 30_000, 50);
    } catch {
      failures.push(`${serverSockets} server-side WebSocket connections still open after 30 s`);
    }
    try {
      await waitFor('PUBSUB CHANNELS to be empty', async () => (left = await channels()).length === 0, 30_000, 50);
    } catch {
      // reported below
    }
    const drainMs = Date.now() - drainStarted;
    const numsub = left.length > 0 ? ((await redisAdmin.call('PUBSUB', 'NUMSUB', ...left.slice(0, 10))) as (string | number)[]) : [];
    const redisClients = ((await redisAdmin.call('CLIENT', 'LIST')) as string).trim().split('\n').length;

    await new Promise((resolve) => setTimeout(resolve, 500));
    await settledGc();
    const afterMemory = process.memoryUsage();
    // Sockets and timers of the last connections may take a few turns to be released.
    let afterHandles = activeHandles();
    const handlesDeadline = Date.now() + 10_000;
    while (extraHandles(before.handles, afterHandles).length > 0 && Date.now() < handlesDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      afterHandles = activeHandles();
    }
    const extra = extraHandles(before.handles, afterHandles);
    const heapLimit = before.memory.heapUsed * 1.5 + 5 * MiB;

    if (total.cycles === 0) failures.push('no load cycle completed');
    if (left.length > 0) failures.push(`${left.length} channels still subscribed`);
    if (extra.length > 0) failures.push(`extra handles: ${extra.join(', ')}`);
    if (afterMemory.heapUsed > heapLimit) {
      failures.push(`heap after ${mib(afterMemory.heapUsed)} MiB > limit ${mib(heapLimit)} MiB`);
    }

    const line = (label: string, value: string) => process.stdout.write(`  ${label.padEnd(22)}${value}\n`);
    process.stdout.write('\n=== Roomcast soak report ===\n');
    line('load', `${loadSeconds.toFixed(0)} s, ${clients} concurrent clients, ${rooms} rooms, 2 load processes`);
    line('cycles', `${total.cycles} (${MODES.map((m) => `${m} ${total.modes[m]}`).join(', ')}; ${total.connectFailed} failed to connect)`);
    line('connections', `${acceptedSockets} accepted by the server; peak ${peakServerSockets} concurrent`);
    line(
      'server process',
      `${cpuPercent.toFixed(0)}% of one core; event-loop delay p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
    );
    line(
      'subscriptions',
      `${total.subscribed} (${total.resumed} resumed from a cursor); ${total.received} messages and ${total.gaps} gaps received`,
    );
    line(
      'publishes',
      `${total.publishedHttp + total.publishedWs} (${total.publishedHttp} HTTP, ${total.publishedWs} WebSocket), ${total.publishFailed} failed`,
    );
    line('unexpected errors', `${total.unexpected}${total.unexpected ? ` ${JSON.stringify(total.errorSamples)}` : ''}`);
    line('close timeouts', String(total.closeTimeouts));
    line(
      'channels',
      `peak ${peakChannels}; left ${left.length} after ${drainMs} ms${left.length ? ` ${JSON.stringify(left.slice(0, 10))} NUMSUB ${JSON.stringify(numsub)}` : ''}`,
    );
    line('redis clients after', `${redisClients} (publisher, subscriber, this report's admin connection)`);
    line('heap before', `${mib(before.memory.heapUsed)} MiB (rss ${mib(before.memory.rss)} MiB)`);
    line('heap peak (sampled)', `${mib(peakHeap)} MiB (rss ${mib(peakRss)} MiB)`);
    line(
      'heap after',
      `${mib(afterMemory.heapUsed)} MiB (rss ${mib(afterMemory.rss)} MiB); ratio ${(afterMemory.heapUsed / before.memory.heapUsed).toFixed(2)}; limit ${mib(heapLimit)} MiB`,
    );
    line('handles before', formatHandles(before.handles));
    line('handles after', formatHandles(afterHandles));
    if (total.unexpected > 0)
      process.stdout.write(`  note: ${total.unexpected} unexpected client-side errors (see above); not part of the verdict\n`);
    process.stdout.write(failures.length === 0 ? 'VERDICT: PASS\n' : `VERDICT: FAIL — ${failures.join('; ')}\n`);
    return failures.length === 0 ? 0 : 1;
  } catch (error) {
    process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.stdout.write('VERDICT: FAIL — the soak itself failed\n');
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!interrupted) await cleanup();
  }
}

if (process.env.SOAK_ROLE === 'worker') {
  await runWorker();
} else {
  process.exit(await runSoak());
}
