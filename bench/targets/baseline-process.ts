/**
 * Starts one replica of a baseline server (bench/baselines/*.ts) as its own process, the way Roomcast
 * replicas start (node --import tsx), and waits for its "listening" line to learn its port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { within } from '../../test/helpers/wait.js';
import { READY_TEXT } from '../baselines/process.js';
import { track } from '../processes.js';
import { PROFILING_FLAGS, STOP_SIGNAL } from './profiling.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface BaselineProcess {
  readonly process: ChildProcess;
  readonly port: number;
  /** stderr lines and non-JSON stdout lines: anything a baseline says besides its ready line. */
  readonly output: string[];
  stop(): Promise<void>;
}

export async function startBaselineProcess(script: string, env: Record<string, string>): Promise<BaselineProcess> {
  const child = spawn(process.execPath, [...PROFILING_FLAGS, '--import', 'tsx', script], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes(READY_TEXT)) resolve((JSON.parse(line) as { port: number }).port);
      else output.push(line);
    });
    createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
    void exited.then(() => reject(new Error(`${script} exited before listening:\n${output.join('\n')}`)));
  });
  const port = await within(ready, 30_000, `${script} to listen`);
  return {
    process: child,
    port,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill(STOP_SIGNAL);
      await exited;
    },
  };
}
