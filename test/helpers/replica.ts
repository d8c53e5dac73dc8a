/**
 * Roomcast server processes from the sources (node --import tsx src/main.ts, what `npm run dev` runs;
 * `npm start` runs the same code compiled)
 * with their own environment, and stopped with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { within } from './wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface Replica {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Lines the process printed so far (stdout and stderr). */
  readonly output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ReplicaOptions {
  /** Node flags, before the script (Node refuses some of them, like --cpu-prof, in NODE_OPTIONS). */
  readonly nodeFlags?: readonly string[];
  /**
   * The entry, relative to `cwd`: src/main.ts unless a benchmark brings its own. A `.ts` entry runs
   * through tsx; a `.js` one (compiled, as `npm start` runs it) with plain node.
   */
  readonly script?: string;
  /** Where the process runs: the repository unless a test runs another tree (a release, an install). */
  readonly cwd?: string;
}

export async function startReplica(
  env: Record<string, string>,
  { nodeFlags = [], script = 'src/main.ts', cwd = root }: ReplicaOptions = {},
): Promise<Replica> {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...nodeFlags, ...loader, script], {
    cwd,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const listening = new Promise<string>((resolve, reject) => {
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        output.push(line);
        if (line.includes('"roomcast listening"')) resolve((JSON.parse(line) as { url: string }).url);
      }
    };
    child.stdout.on('data', onLine);
    child.stderr.on('data', onLine);
    child.once('exit', (code) => reject(new Error(`replica exited with ${code}: ${output.join('\n')}`)));
  });
  // A deadline, not a wait: under a full suite's load (tsx compiling the sources while Chromium starts
  // beside it) a start has taken over 20 s once in CI; it normally takes 1-2.
  const url = await within(listening, 60_000, 'a replica to listen');
  const port = Number(new URL(url).port);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    port,
    process: child,
    output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return within(exited, 15_000, 'a replica to exit');
    },
  };
}

/** Runs the process until it exits, for start-up failures. */
export function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return within(new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr }))), 20_000, 'the process to exit');
}
