/**
 * Typed request/response over a forked child's IPC channel. The parent drives each child process
 * (client workers, the publisher) with calls that return a value, instead of fire-and-forget messages,
 * so every step of a measurement waits for exactly what it needs. Children are forked with
 * `serialization: 'advanced'`, so Maps and typed arrays cross as they are.
 */
import { fork, type ChildProcess } from 'node:child_process';

/** An API: method name -> (argument) => result. */
export type Api = Record<string, (arg: never) => unknown>;

interface Request {
  readonly rpc: number;
  readonly method: string;
  readonly arg: unknown;
}

interface Response {
  readonly rpc: number;
  readonly result?: unknown;
  readonly error?: string;
}

export interface ChildHandle<A extends Api> {
  readonly process: ChildProcess;
  call<M extends keyof A & string>(method: M, arg: Parameters<A[M]>[0]): Promise<Awaited<ReturnType<A[M]>>>;
  /** Kills the child (it holds no state worth a graceful stop) and waits until it is gone. */
  kill(): Promise<void>;
}

/** Forks `modulePath` (a .ts file, run through tsx like the parent) and speaks `A` with it. */
export function forkChild<A extends Api>(modulePath: string, env: Record<string, string> = {}): ChildHandle<A> {
  const child = fork(modulePath, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 0;
  const pending = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();
  child.on('message', (message: Response) => {
    const waiter = pending.get(message.rpc);
    if (!waiter) return;
    pending.delete(message.rpc);
    if (message.error !== undefined) waiter.reject(new Error(`${modulePath}: ${message.error}`));
    else waiter.resolve(message.result as never);
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const waiter of pending.values()) waiter.reject(new Error(`${modulePath} exited (${signal ?? code})`));
      pending.clear();
      resolve();
    }),
  );
  return {
    process: child,
    call(method, arg) {
      const rpc = next++;
      return new Promise((resolve, reject) => {
        pending.set(rpc, { resolve, reject });
        child.send({ rpc, method, arg } satisfies Request);
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** In the child: answers the parent's calls with `api`; exits when the parent goes away. */
export function serveParent<A extends Api>(api: A): void {
  if (!process.send) throw new Error('this module runs as a forked child of bench/run.ts');
  process.on('message', (message: Request) => {
    const method = api[message.method];
    const reply = (response: Response) => process.send?.(response);
    if (!method) {
      reply({ rpc: message.rpc, error: `no method ${message.method}` });
      return;
    }
    Promise.resolve()
      .then(() => method(message.arg as never))
      .then(
        (result) => reply({ rpc: message.rpc, result }),
        (error: unknown) => reply({ rpc: message.rpc, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  // An orphaned load process would keep hammering a server: leave with the parent.
  process.on('disconnect', () => process.exit(0));
}
