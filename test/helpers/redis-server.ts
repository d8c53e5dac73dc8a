/**
 * Test-owned redis-server processes on free ports: never the machine's shared Redis, so tests can
 * kill, restart and flush them freely. The binary is the system's `redis-server` when installed
 * (or REDIS_SERVER_BIN), otherwise one built by redis-memory-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
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

export class RedisServer {
  private child: ChildProcess | undefined;
  /** Where `SHUTDOWN SAVE` leaves the data that `restart({ keepData: true })` loads. */
  private readonly dir = mkdtempSync(join(tmpdir(), 'roomcast-redis-'));
  private constructor(
    private readonly bin: string,
    readonly port: number,
  ) {}

  static async start(bin: string): Promise<RedisServer> {
    const server = new RedisServer(bin, await freePort());
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
    const client = new Redis({ host: '127.0.0.1', port: this.port, maxRetriesPerRequest: 1, ...options });
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
