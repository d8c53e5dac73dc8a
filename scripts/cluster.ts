/**
 * `npm run cluster`: three Roomcast replicas on one machine sharing one Redis, to see a message
 * published on one replica reach subscribers on another, and one replica (or Redis) fail and come
 * back while the others carry on — by hand, or from test/e2e/cluster.test.ts.
 *
 * REDIS_URL set: the replicas use that Redis. Otherwise the script runs its own `redis-server` (from
 * PATH, loopback only) on CLUSTER_REDIS_PORT (default 6380), with its data in CLUSTER_REDIS_DIR if set
 * (created if missing, kept on stop, reused by the next run) or else in a temp directory removed on
 * stop. That Redis keeps an append-only file fsynced every second: a crash or kill -9 of redis-server
 * normally loses nothing it acknowledged (each write reaches the file before the reply, and the OS
 * holds it; only when the disk stalls an fsync for over a second can Redis reply first), a crash of the
 * machine loses about the last second. Replica ports come from CLUSTER_PORTS
 * (default 4001,4002,4003). Each child's output is prefixed with its name.
 *
 * Supervision. Every start prints `[cluster] <name> pid <pid>`, every readiness
 * `[cluster] <name> ready: <url>` (stdout), and once every replica has been ready,
 * `[cluster] ready: <url> <url> <url>`. A child that exits on its own — crash, kill -9, or a clean
 * SIGTERM sent to its pid — is restarted on the same port and the rest stay up:
 * `[cluster] replica-4002 exited (code 0); restarting in 1 s`. The delay doubles on each exit up to
 * 30 s and is back to 1 s once the child had stayed up 30 s, so one that fails at once does not spin.
 * To see failover, kill one replica's printed pid: its subscribers are disconnected (a client
 * reconnects to another replica and resumes from its cursor) while the other replicas keep serving;
 * kill the Redis pid and every replica re-subscribes and catches up from history once it is back.
 *
 * Start-up. Replicas start once the script's Redis is ready. A replica that fails to start (exits, or
 * is not listening within 30 s, when it is killed) is retried with the same back-off, and says so,
 * while the others serve: the cause is usually in its output (a port in use, say) and the user decides
 * when to give up with Ctrl-C. The script's own Redis is different: if it exits or is not ready within
 * 30 s on its first start, nothing could work (most often its port is taken), so everything stops
 * with exit 1; after it has been ready once, it is restarted like a replica.
 *
 * SIGINT, SIGTERM or SIGHUP to the script stops the replicas, then its Redis, removes the temp data
 * directory, and exits 0 (1 if a child did not stop cleanly within 15 s and had to be killed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const FIRST_RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A child that stayed up this long is restarted after FIRST_RESTART_DELAY_MS again. */
const STABLE_AFTER_MS = 30_000;

interface Service {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Text of the output line that says the child is ready. */
  readonly readyText: string;
  /** What the ready line shows, from the line that said so. */
  readonly address: (line: string) => string;
  /** Its own process group, so that a terminal's Ctrl-C does not reach it before the replicas are down. */
  readonly detached: boolean;
  /** Called at every readiness. */
  readonly onReady: (address: string) => void;
  /** The child of the current attempt, if any. */
  process?: ChildProcess;
  /** Resolves when the current attempt's child and its output are done. */
  closed?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running: boolean;
  everReady: boolean;
  readyNow: boolean;
  startedAt: number;
  nextDelayMs: number;
  startTimer?: NodeJS.Timeout;
  restartTimer?: NodeJS.Timeout;
}

const replicas: Service[] = [];
let redis: Service | undefined;
let tempDataDir: string | undefined;
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

function service(fields: Pick<Service, 'name' | 'command' | 'args' | 'env' | 'readyText' | 'address' | 'detached' | 'onReady'>): Service {
  return { ...fields, running: false, everReady: false, readyNow: false, startedAt: 0, nextDelayMs: FIRST_RESTART_DELAY_MS };
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `code ${code}`;
}

/** Starts one attempt of the service; its end schedules the next one unless the script is stopping. */
function launch(svc: Service): void {
  const child = spawn(svc.command, svc.args, { cwd: root, env: svc.env, detached: svc.detached, stdio: ['ignore', 'pipe', 'pipe'] });
  svc.process = child;
  svc.running = true;
  svc.readyNow = false;
  svc.startedAt = Date.now();
  if (child.pid !== undefined) say(`${svc.name} pid ${child.pid}`);
  for (const [input, output] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    createInterface({ input }).on('line', (line) => {
      output.write(`[${svc.name}] ${line}\n`);
      if (!svc.readyNow && svc.process === child && line.includes(svc.readyText)) {
        svc.readyNow = true;
        svc.everReady = true;
        clearTimeout(svc.startTimer);
        const address = svc.address(line);
        process.stdout.write(`[cluster] ${svc.name} ready: ${address}\n`);
        svc.onReady(address);
      }
    });
  }
  child.on('error', (error) => say(`${svc.name}: ${error.message}`));
  svc.startTimer = setTimeout(() => {
    if (stopping || svc.readyNow) return;
    if (svc === redis && !svc.everReady) {
      say(`${svc.name} was not ready within ${START_TIMEOUT_MS / 1000} s; stopping everything`);
      void shutdown(1);
      return;
    }
    say(`${svc.name} was not ready within ${START_TIMEOUT_MS / 1000} s; killing it`);
    child.kill('SIGKILL');
  }, START_TIMEOUT_MS);
  svc.closed = new Promise((resolveClosed) => {
    child.once('close', (code, signal) => {
      svc.running = false;
      svc.readyNow = false;
      clearTimeout(svc.startTimer);
      resolveClosed({ code, signal });
      if (stopping) return;
      const how = describeExit(code, signal);
      if (svc === redis && !svc.everReady) {
        say(`${svc.name} exited before it was ready (${how}); is port ${redisPort} in use? Stopping everything`);
        void shutdown(1);
        return;
      }
      if (Date.now() - svc.startedAt >= STABLE_AFTER_MS) svc.nextDelayMs = FIRST_RESTART_DELAY_MS;
      const delay = svc.nextDelayMs;
      svc.nextDelayMs = Math.min(delay * 2, MAX_RESTART_DELAY_MS);
      const when = `in ${delay / 1000} s`;
      say(
        svc.everReady
          ? `${svc.name} exited (${how}); restarting ${when}`
          : `${svc.name} exited before it was ready (${how}); retrying ${when} (Ctrl-C to stop)`,
      );
      svc.restartTimer = setTimeout(() => {
        if (!stopping) launch(svc);
      }, delay);
    });
  });
}

/** Stops the current attempt, if it runs; false if it had to be killed or did not exit cleanly. */
async function stop(svc: Service): Promise<boolean> {
  clearTimeout(svc.restartTimer);
  clearTimeout(svc.startTimer);
  const child = svc.process;
  if (!child || !svc.running || !svc.closed) return true;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    say(`${svc.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it`);
    child.kill('SIGKILL');
  }, STOP_TIMEOUT_MS);
  const { code, signal } = await svc.closed;
  clearTimeout(timer);
  // A replica still starting has no SIGTERM handler yet and ends by the signal: that is a clean stop too.
  return code === 0 || signal === 'SIGTERM';
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const svc of [...replicas, ...(redis ? [redis] : [])]) {
    clearTimeout(svc.restartTimer);
    clearTimeout(svc.startTimer);
  }
  const replicasOk = (await Promise.all(replicas.map(stop))).every(Boolean);
  const redisOk = redis ? await stop(redis) : true;
  if (tempDataDir) rmSync(tempDataDir, { recursive: true, force: true });
  process.exit(code === 0 && replicasOk && redisOk ? 0 : 1);
}

const ports = (process.env.CLUSTER_PORTS ?? '4001,4002,4003').split(',').map((p) => parsePort(p, 'CLUSTER_PORTS'));
const ownRedis = !process.env.REDIS_URL;
const redisPort = ownRedis ? parsePort(process.env.CLUSTER_REDIS_PORT ?? '6380', 'CLUSTER_REDIS_PORT') : 0;
const redisUrl = process.env.REDIS_URL ?? `redis://127.0.0.1:${redisPort}`;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0));

if (ownRedis) {
  const bin = findOnPath('redis-server');
  if (!bin) {
    say('redis-server not found on PATH: install redis-server (e.g. apt-get install redis-server) or set REDIS_URL');
    process.exit(1);
  }
  let dataDir: string;
  if (process.env.CLUSTER_REDIS_DIR) {
    dataDir = resolve(process.env.CLUSTER_REDIS_DIR);
    mkdirSync(dataDir, { recursive: true });
  } else {
    dataDir = tempDataDir = mkdtempSync(join(tmpdir(), 'roomcast-cluster-redis-'));
  }
  const name = `redis-${redisPort}`;
  say(`${name} data in ${dataDir} (append-only file, fsync every second; ${tempDataDir ? 'removed' : 'kept'} on stop)`);
  let readyOnce: () => void = () => {};
  const firstReady = new Promise<void>((resolveReady) => (readyOnce = resolveReady));
  redis = service({
    name,
    command: bin,
    args: [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
    ],
    env: process.env,
    readyText: 'Ready to accept connections',
    address: () => redisUrl,
    detached: true,
    onReady: () => readyOnce(),
  });
  launch(redis);
  await firstReady; // or the script exits: see the start timer and the 'close' handler
}

if (!stopping) {
  const urls = new Map<number, string>();
  let announced = false;
  for (const port of ports) {
    const replica = service({
      name: `replica-${port}`,
      command: process.execPath,
      args: ['--import', 'tsx', 'src/main.ts'],
      env: {
        ...process.env,
        PORT: String(port),
        REDIS_URL: redisUrl,
        REPLICA_ID: `replica-${port}`,
        // Readiness is the info-level "roomcast listening" line, so a quieter LOG_LEVEL is raised.
        LOG_LEVEL: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'info',
      },
      readyText: '"roomcast listening"',
      address: (line) => (JSON.parse(line) as { url: string }).url,
      detached: false,
      onReady: (url) => {
        urls.set(port, url);
        if (announced || urls.size < ports.length) return;
        announced = true;
        process.stdout.write(`[cluster] ready: ${ports.map((p) => urls.get(p)).join(' ')}\n`);
      },
    });
    replicas.push(replica);
    launch(replica);
  }
}
