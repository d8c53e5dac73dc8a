/**
 * The published package, as a user gets it: `npm pack` of the server and of @roomcast/client (the
 * server depends on it; both would be on a registry), both tarballs installed into a fresh project
 * (dependencies only: never the dev dependencies), then an ES module there imports `roomcast` and
 * `roomcast/publisher`, serves on a free port against a test-started Redis, publishes, receives over
 * an event stream, and closes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findRedisServerBinary, RedisServer } from '../helpers/redis-server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'roomcast-package-'));
const app = join(work, 'app');
let redis: RedisServer;

/** Fast and quiet: what the machine's npm cache holds is not fetched again. */
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/** The tarball's file name. `--ignore-scripts`: dist/ is built already (global setup); no rebuild under other tests. */
async function pack(args: string[]): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work, ...args], { cwd: root });
  return join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
}

beforeAll(async () => {
  redis = await RedisServer.start(await findRedisServerBinary());
  const tarballs = [await pack(['--workspace', '@roomcast/client']), await pack([])];
  await run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'roomcast-user', version: '1.0.0', private: true, type: 'module' }));
  await run('npm', ['install', ...NPM_FLAGS, ...tarballs], { cwd: app, timeout: 240_000 });
}, 300_000);

afterAll(async () => {
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

const script = `
import { createRoomcast } from 'roomcast';
import { createPublisher } from 'roomcast/publisher';
import { createRoomcastClient } from 'roomcast/client';

const redisUrl = process.env.TEST_REDIS_URL;
const server = await createRoomcast({ port: 0, host: '127.0.0.1', redisUrl, logLevel: 'silent', drainMs: 0 });
const { url } = await server.listen();
const publisher = createPublisher({ redisUrl });
const first = await publisher.publish('lobby', 'chat', { text: 'one' });

// An event stream from right after the first message: exact, whenever the server accepts it.
const query = 'subscription ($after: String) { messages(room: "lobby", after: $after) { ... on Message { seq data } } }';
const target = new URL(url);
target.searchParams.set('query', query);
target.searchParams.set('variables', JSON.stringify({ after: first.cursor }));
const controller = new AbortController();
const response = await fetch(target, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
await publisher.publish('lobby', 'chat', { text: 'two' });
let text = '';
for await (const chunk of response.body) {
  text += Buffer.from(chunk).toString();
  const frame = /event: next\\ndata: (.*)\\n/.exec(text);
  if (frame) {
    console.log(JSON.stringify({ received: JSON.parse(frame[1]).data.messages, client: typeof createRoomcastClient }));
    break;
  }
}
controller.abort();
await publisher.close();
await server.close();
`;

it('installs from its packed tarball without dev dependencies, and serves, publishes and delivers as a library', async () => {
  writeFileSync(join(app, 'main.js'), script);
  const { stdout } = await run(process.execPath, ['main.js'], {
    cwd: app,
    env: { ...process.env, TEST_REDIS_URL: redis.url },
    timeout: 30_000,
  });
  expect(JSON.parse(stdout.trim())).toEqual({ received: { seq: 2, data: { text: 'two' } }, client: 'function' });

  for (const devOnly of ['vitest', 'typescript', 'express', 'fastify', 'playwright-core', 'eslint']) {
    expect(existsSync(join(app, 'node_modules', devOnly)), `${devOnly} installed`).toBe(false);
  }
  expect(existsSync(join(app, 'node_modules/roomcast/dist/index.d.ts'))).toBe(true);
  expect(existsSync(join(app, 'node_modules/roomcast/test'))).toBe(false);
  expect(existsSync(join(app, 'node_modules/.bin/roomcast'))).toBe(true);
}, 60_000);

it.runIf(existsSync(join(root, 'dist/cli/main.js')))('runs the roomcast bin', async () => {
  const { stdout } = await run(join(app, 'node_modules/.bin/roomcast'), ['--help'], { cwd: app, timeout: 30_000 });
  expect(stdout).toMatch(/roomcast/);
});
