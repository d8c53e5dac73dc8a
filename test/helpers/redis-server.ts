/**
 * Test-owned redis-server processes on free ports: never the machine's shared Redis, so tests can
 * kill, restart and flush them freely. The binary is the system's `redis-server` when installed
 * (or REDIS_SERVER_BIN), otherwise one built by redis-memory-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './free-port.js';
import { waitFor } from './wait.js';

export async function findRedisServerBinary(): Promise<string> {
  if (process.env.REDIS_SERVER_BIN) return process.env.REDIS_SERVER_BIN;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  const { RedisBinary } = await import('redis-memory-server');
  return RedisBinary.getPath();
}

/** An ACL user the test's own connections log in as (the server's `--user` arguments create it). */
export interface RedisAuth {
  readonly username: string;
  readonly password: string;
}

export interface RedisServerOptions {
  /** More redis-server arguments: `--replicaof`, `--user`, ... */
  readonly args?: readonly string[];
  readonly auth?: RedisAuth;
}

export class RedisServer {
  private child: ChildProcess | undefined;
  /** Where `SHUTDOWN SAVE` leaves the data that `restart({ keepData: true })` loads. */
  private readonly dir = mkdtempSync(join(tmpdir(), 'roomcast-redis-'));
  private constructor(
    private readonly bin: string,
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {}

  static async start(bin: string, options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(bin, await freePort(), options);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the process, empty unless `keepData` (then with what `shutdownSaving` saved), and waits for PING. */
  async start({ keepData = false } = {}): Promise<void> {
    if (!keepData) rmSync(join(this.dir, 'dump.rdb'), { force: true });
    const child = spawn(
      this.bin,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--protected-mode',
        'no',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--dbfilename',
        'dump.rdb',
        '--enable-debug-command',
        'yes',
        ...(this.options.args ?? []),
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    await waitFor(`redis-server on port ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      const client = this.client({ lazyConnect: true, retryStrategy: () => null });
      client.on('error', () => {});
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    });
  }

  /** A new ioredis client; the caller disconnects it. */
  client(options: RedisOptions = {}): Redis {
    const client = new Redis({ host: '127.0.0.1', port: this.port, maxRetriesPerRequest: 1, ...this.options.auth, ...options });
    client.on('error', () => {}); // failures surface as rejected commands
    return client;
  }

  /** Runs one command on a short-lived connection. */
  async command(name: string, ...args: (string | number)[]): Promise<unknown> {
    const client = this.client();
    try {
      return await client.call(name, ...args);
    } finally {
      client.disconnect();
    }
  }

  /** SIGKILLs the process and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Freezes the process (SIGSTOP): connections stay open and nothing is answered, until `resume()`. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops the process after saving its data, as a Redis with persistence restarts. */
  async shutdownSaving(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await this.command('SHUTDOWN', 'SAVE').catch(() => {});
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A Redis Sentinel process (redis-server --sentinel) on a free port, monitoring one master as `name`
 * with a quorum of 1, and declaring it down after `downAfterMs`: failovers in seconds, for tests.
 */
export class RedisSentinel {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(
    bin: string,
    master: { readonly name: string; readonly port: number; readonly auth?: RedisAuth },
    { downAfterMs = 1000 } = {},
  ): Promise<RedisSentinel> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'roomcast-sentinel-'));
    const lines = [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode no',
      `dir ${dir}`,
      `sentinel monitor ${master.name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${master.name} ${downAfterMs}`,
      `sentinel failover-timeout ${master.name} 10000`,
      ...(master.auth
        ? [`sentinel auth-user ${master.name} ${master.auth.username}`, `sentinel auth-pass ${master.name} ${master.auth.password}`]
        : []),
    ];
    // Sentinel rewrites its configuration file as it learns: one of its own.
    writeFileSync(join(dir, 'sentinel.conf'), `${lines.join('\n')}\n`);
    const child = spawn(bin, [join(dir, 'sentinel.conf'), '--sentinel'], { stdio: 'ignore' });
    const sentinel = new RedisSentinel(child, dir, port);
    await waitFor(`redis-sentinel on port ${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-sentinel exited with ${child.exitCode}`);
      return (await sentinel.command('PING').catch(() => undefined)) === 'PONG';
    });
    return sentinel;
  }

  /** Runs one command on a short-lived connection. */
  async command(name: string, ...args: (string | number)[]): Promise<unknown> {
    const client = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      await client.connect();
      return await client.call(name, ...args);
    } finally {
      client.disconnect();
    }
  }

  /** The port of the master it names now. */
  async masterPort(name: string): Promise<number> {
    const [, port] = (await this.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
    return Number(port);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
