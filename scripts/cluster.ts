/**
 * `npm run cluster`: three Roomcast replicas on one machine sharing one Redis, to see a message
 * published on one replica reach subscribers on another — by hand, or from test/e2e/cluster.test.ts.
 *
 * REDIS_URL set: the replicas use that Redis. Otherwise a throwaway `redis-server` (from PATH, no
 * persistence, loopback only) runs on CLUSTER_REDIS_PORT (default 6380). Replica ports come from
 * CLUSTER_PORTS (default 4001,4002,4003). Each child's output is prefixed with its name. SIGINT or
 * SIGTERM stops the replicas, then Redis, and exits 0 (1 if a child did not stop cleanly); a child
 * that dies on its own stops everything with exit 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves with the first output line containing the ready text; rejects if the child ends first. */
  readonly ready: Promise<string>;
  /** Resolves with the exit code (null when killed by a signal) once the child and its output are done. */
  readonly closed: Promise<number | null>;
}

const children: Child[] = [];
let stopping = false;

function say(message: string): void {
  process.stderr.write(`[cluster] ${message}\n`);
}

function findOnPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return join(dir, bin);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function parsePort(raw: string, variable: string): number {
  const port = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || port < 1 || port > 65535) {
    say(`${variable} must hold ports from 1 to 65535 (got ${JSON.stringify(raw)})`);
    process.exit(1);
  }
  return port;
}

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, readyText: string): Child {
  // Redis gets its own process group: a terminal's Ctrl-C must not stop it before the replicas are down.
  const detached = command !== process.execPath;
  const child = spawn(command, args, { cwd: root, env, detached, stdio: ['ignore', 'pipe', 'pipe'] });
  let onReady: (line: string) => void = () => {};
  const ready = new Promise<string>((resolve) => (onReady = resolve));
  for (const [input, output] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    createInterface({ input }).on('line', (line) => {
      output.write(`[${name}] ${line}\n`);
      if (line.includes(readyText)) onReady(line);
    });
  }
  child.on('error', (error) => say(`${name}: ${error.message}`));
  const closed = new Promise<number | null>((resolve) => {
    child.once('close', (code, signal) => {
      if (!stopping) {
        say(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`);
        void shutdown(1);
      }
      resolve(code);
    });
  });
  const endedFirst = closed.then((): never => {
    throw new Error(`${name} exited`);
  });
  const entry: Child = { name, process: child, ready: Promise.race([ready, endedFirst]), closed };
  entry.ready.catch(() => {}); // already reported by the 'close' handler
  children.push(entry);
  return entry;
}

async function stop(child: Child): Promise<boolean> {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGTERM');
  const timer = setTimeout(() => {
    say(`${child.name} did not stop within ${STOP_TIMEOUT_MS} ms; killing it`);
    child.process.kill('SIGKILL');
  }, STOP_TIMEOUT_MS);
  const code = await child.closed;
  clearTimeout(timer);
  return code === 0;
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const redis = ownRedis ? children[0] : undefined;
  const replicas = children.filter((child) => child !== redis);
  const replicasOk = (await Promise.all(replicas.map(stop))).every(Boolean);
  const redisOk = redis ? await stop(redis) : true;
  process.exit(code === 0 && replicasOk && redisOk ? 0 : 1);
}

const ports = (process.env.CLUSTER_PORTS ?? '4001,4002,4003').split(',').map((p) => parsePort(p, 'CLUSTER_PORTS'));
const ownRedis = !process.env.REDIS_URL;
let redisUrl = process.env.REDIS_URL ?? '';
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

if (ownRedis) {
  const redisPort = parsePort(process.env.CLUSTER_REDIS_PORT ?? '6380', 'CLUSTER_REDIS_PORT');
  const bin = findOnPath('redis-server');
  if (!bin) {
    say('redis-server not found on PATH: install redis-server (e.g. apt-get install redis-server) or set REDIS_URL');
    process.exit(1);
  }
  const args = ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  start(`redis-${redisPort}`, bin, args, process.env, 'Ready to accept connections');
  redisUrl = `redis://127.0.0.1:${redisPort}`;
}

const startTimer = setTimeout(() => {
  if (stopping) return;
  say(`not every process was ready within ${START_TIMEOUT_MS} ms; stopping everything`);
  void shutdown(1);
}, START_TIMEOUT_MS);

try {
  if (ownRedis) await children[0]!.ready;
  if (stopping) throw new Error('stopping'); // a signal came while Redis was starting
  const replicas = ports.map((port) =>
    start(
      `replica-${port}`,
      process.execPath,
      ['--import', 'tsx', 'src/main.ts'],
      {
        ...process.env,
        PORT: String(port),
        REDIS_URL: redisUrl,
        REPLICA_ID: `replica-${port}`,
        // Readiness is the info-level "roomcast listening" line, so a quieter LOG_LEVEL is raised.
        LOG_LEVEL: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'info',
      },
      '"roomcast listening"',
    ),
  );
  const lines = await Promise.all(replicas.map((replica) => replica.ready));
  const urls = lines.map((line) => (JSON.parse(line) as { url: string }).url);
  clearTimeout(startTimer);
  process.stdout.write(`[cluster] ready: ${urls.join(' ')}\n`);
} catch {
  // A child ended before it was ready; its 'close' handler is already stopping everything.
}
