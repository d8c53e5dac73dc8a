/**
 * Every process the benchmark starts is registered here and ends with it: on normal completion, on
 * an error, on Ctrl-C (SIGINT) or SIGTERM. A leftover replica or redis-server would keep a port and
 * a core busy and spoil the next run (and the other engineer's tests) on a 2-core machine.
 */
import type { ChildProcess } from 'node:child_process';

type Stopper = () => Promise<unknown>;

const children = new Set<ChildProcess>();
const stoppers = new Set<Stopper>();
let installed = false;

/** Kills `child` with SIGKILL if it still runs when the benchmark exits, however it exits. */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Runs `stop` on Ctrl-C or SIGTERM (and starts it on exit); returns the function that unregisters it. */
export function onCleanup(stop: Stopper): () => void {
  stoppers.add(stop);
  return () => stoppers.delete(stop);
}

export function installCleanup(): void {
  if (installed) return;
  installed = true;
  const interrupt = (signal: NodeJS.Signals, code: number) => {
    process.stderr.write(`\n[bench] ${signal}: stopping every process started by the benchmark\n`);
    void cleanupAll().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => interrupt('SIGINT', 130));
  process.once('SIGTERM', () => interrupt('SIGTERM', 143));
  // Last resort, synchronous: signals go out now, even if nothing can be awaited any more.
  process.once('exit', () => {
    for (const stop of stoppers) void stop().catch(() => {});
    for (const child of children) child.kill('SIGKILL');
  });
}

export async function cleanupAll(): Promise<void> {
  const pending = [...stoppers];
  stoppers.clear();
  await Promise.allSettled(pending.map((stop) => stop()));
  for (const child of children) child.kill('SIGKILL');
}
