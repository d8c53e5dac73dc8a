/**
 * HAProxy run from deploy/haproxy/haproxy.cfg, with only its listening port and its servers' addresses
 * replaced (compose's `replicaN:4000` become test replicas on 127.0.0.1), so a test proves the file
 * compose.yaml mounts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { waitFor, within } from './wait.js';

const CONFIG = fileURLToPath(new URL('../../deploy/haproxy/haproxy.cfg', import.meta.url));

/** The haproxy binary on PATH or in /usr/sbin (Debian's package), or undefined. */
export function findHaproxyBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'haproxy');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The deploy config with `bind :8080` on 127.0.0.1:`port` and its servers at `servers` (host:port), in order. */
function templateConfig(port: number, servers: readonly string[]): string {
  const text = readFileSync(CONFIG, 'utf8');
  let index = 0;
  const replaced = text
    .replace(/^(\s*)bind :\d+$/m, `$1bind 127.0.0.1:${port}`)
    .replace(/^(\s*server \S+) \S+:\d+$/gm, (_, head: string) => {
      const address = servers[index++];
      if (address === undefined) throw new Error('deploy/haproxy/haproxy.cfg has more servers than the test started');
      return `${head} ${address}`;
    });
  if (index !== servers.length) throw new Error(`deploy/haproxy/haproxy.cfg has ${index} servers, the test started ${servers.length}`);
  return replaced;
}

export interface Haproxy {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly output: string[];
  stop(): Promise<void>;
}

/** Starts HAProxy in the foreground and waits until it routes a replica-local check to a server. */
export async function startHaproxy(bin: string, servers: readonly string[]): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-haproxy-'));
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, templateConfig(port, servers));
  const child: ChildProcess = spawn(bin, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await within(exited, 5_000, 'haproxy to exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('haproxy to route to a replica', async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${output.join('\n')}`);
      return (await fetch(`${url}/readyz/replica`)).status === 200;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, output, stop };
}
