/**
 * The frontend examples (examples/chat-react-urql, examples/dashboard-react-apollo) built as their users
 * build them (`npm run build` in each: codegen from schema/, tsc, vite build), served as static files from
 * another origin, and driven in headless Chromium against a real replica process on a test-owned
 * redis-server:
 * - chat: two pages send messages alternately while the replica is SIGKILLed and restarted (same port,
 *   same Redis) between messages; both end with every message once, in order, and see each other present.
 * - dashboard: the example's ticker script publishes 50 msg/s through roomcast/publisher; the page shows
 *   the last tick published, after far fewer updates than ticks (throttleMs).
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PublishDocument } from '../generated/graphql.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { postGraphQL } from '../helpers/clients.js';
import { freePort } from '../helpers/free-port.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { within } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = { chat: 'examples/chat-react-urql', dashboard: 'examples/dashboard-react-apollo' } as const;
const work = mkdtempSync(join(tmpdir(), 'roomcast-examples-'));
const haveChromium = chromiumAvailable('the frontend examples test');

let redis: RedisServer | undefined;
let replica: Replica | undefined;
let statics: Server | undefined;
let browser: Browser | undefined;
let apiPort: number;
let staticOrigin: string;
const contexts: BrowserContext[] = [];

const replicaEnv = () => ({ PORT: String(apiPort), REDIS_URL: redis!.url, CORS_ORIGINS: staticOrigin });

beforeAll(async () => {
  if (!haveChromium) return;
  [redis, apiPort] = await Promise.all([RedisServer.start(inject('redisServerBin')), freePort()]);
  statics = await serveStatic({ '/chat/': join(work, 'chat'), '/dashboard/': join(work, 'dashboard') });
  const address = statics.address();
  staticOrigin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  // The server's URL is built into the pages (VITE_ROOMCAST_URL), so the port is chosen first.
  const env = { ...process.env, VITE_ROOMCAST_URL: `http://127.0.0.1:${apiPort}/graphql` };
  await Promise.all(Object.entries(EXAMPLES).map(([name, dir]) => buildExample(dir, join(work, name), env)));
  // One after the other, so that a Chromium start that hangs (and is tried again) delays nothing else's deadline.
  browser = await launchChromium();
  replica = await startReplica(replicaEnv());
}, 300_000);
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await replica?.stop('SIGKILL');
  await new Promise((resolve) => (statics ? statics.close(resolve) : resolve(undefined)));
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** The example's own `npm run build` (codegen, tsc --noEmit, vite build), into `outDir`. */
async function buildExample(dir: string, outDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await promisify(execFile)('npm', ['run', 'build', '--', '--outDir', outDir, '--logLevel', 'warn'], { cwd: join(root, dir), env });
  } catch (error) {
    // tsc and codegen report on stdout, which the error's message leaves out.
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed in ${dir}:\n${stdout}\n${stderr}`, { cause: error });
  }
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/** The built apps as a static host serves them: each under its prefix, index.html for the prefix itself. */
function serveStatic(mounts: Record<string, string>): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const mount = Object.entries(mounts).find(([prefix]) => path.startsWith(prefix));
    const file = mount && normalize(join(mount[1], path.slice(mount[0].length) || 'index.html'));
    try {
      // normalize() resolves any ../ first: nothing outside the mounted directory is served.
      if (!mount || !file?.startsWith(mount[1])) throw new Error('not found');
      const body = readFileSync(file);
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A page in a browser context of its own (a user of its own), with its errors and the WebSocket frames it received. */
async function openPage(url: string): Promise<{ page: Page; errors: string[]; frames: string[] }> {
  const context = await browser!.newContext();
  contexts.push(context);
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors: string[] = [];
  const frames: string[] = [];
  page.on('pageerror', (error) => errors.push(error.stack ?? String(error)));
  page.on('websocket', (socket) => socket.on('framereceived', ({ payload }) => frames.push(String(payload))));
  await page.goto(url);
  return { page, errors, frames };
}

async function publish(room: string, event: string, data: unknown) {
  const { body } = await postGraphQL(replica!.url, PublishDocument, { room, event, data });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
}

interface Line {
  seq: number | null;
  state: string | null;
  text: string;
}

const linesOf = (page: Page): Promise<Line[]> =>
  page.$$eval('[data-testid=messages] li', (items) =>
    items.map((li) => ({
      seq: li.dataset.seq === undefined ? null : Number(li.dataset.seq),
      state: li.dataset.state ?? null,
      text: li.querySelector('.text')?.textContent ?? '',
    })),
  );

/** Until the page lists `text` as a stored message (the sender once the publish answered, the others once received). */
const shows = (page: Page, text: string) =>
  page.waitForFunction(
    (wanted) => [...document.querySelectorAll('[data-testid=messages] li[data-state=sent] .text')].some((el) => el.textContent === wanted),
    text,
    { timeout: 20_000 },
  );

const showsStatus = (page: Page, status: string) =>
  page.waitForFunction((wanted) => document.querySelector('[data-testid=status]')?.textContent === wanted, status, { timeout: 15_000 });

async function joinChat(url: string, name: string) {
  const opened = await openPage(`${url}&name=${name}`);
  await opened.page.getByRole('button', { name: 'Join' }).click();
  await showsStatus(opened.page, 'connected');
  const clientId = await opened.page.getByTestId('me').getAttribute('data-client-id');
  return { ...opened, clientId: clientId! };
}

async function say(page: Page, text: string) {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

/** SIGKILL, then the same port and Redis: the pages must notice, reconnect and resume by themselves. */
async function restartReplica(pages: Page[]) {
  await replica!.stop('SIGKILL');
  await Promise.all(pages.map((page) => showsStatus(page, 'reconnecting…')));
  replica = await startReplica(replicaEnv());
}

describe.runIf(haveChromium)('the frontend examples in a browser', () => {
  it('should keep two chat pages in step, every message once and in order, across server restarts', { timeout: 60_000 }, async () => {
    const room = `chat-${Date.now()}`;
    // A message before anyone joins: the pages load it and subscribe right after its cursor, so no
    // message sent later can fall between a page's load and its subscription.
    await publish(room, 'chat', { name: 'server', text: 'welcome' });
    const url = `${staticOrigin}/chat/?room=${room}`;
    const alice = await joinChat(url, 'alice');
    const bob = await joinChat(url, 'bob');
    const pages = [alice.page, bob.page];

    const texts = ['welcome'];
    for (let i = 0; i < 6; i++) {
      if (i === 2 || i === 4) await restartReplica(pages);
      const text = `message ${i} from ${i % 2 ? 'bob' : 'alice'}`;
      await say(pages[i % 2]!, text);
      texts.push(text);
      await Promise.all(pages.map((page) => shows(page, text)));
    }

    for (const page of pages) {
      const lines = await linesOf(page);
      expect(lines.map((line) => line.text)).toEqual(texts);
      expect(lines.map((line) => line.state)).toEqual(texts.map(() => 'sent'));
      expect(lines.map((line) => line.seq)).toEqual(texts.map((_, i) => i + 1));
    }
    // Each sees the other present, after the restarts too.
    for (const [page, other] of [
      [alice.page, bob.clientId],
      [bob.page, alice.clientId],
    ] as const) {
      await page.waitForFunction((id) => document.querySelector(`[data-testid=presence] [data-client-id="${id}"]`) !== null, other, {
        timeout: 15_000,
      });
    }
    // excludeSelf: a page's own messages never came back to it over the WebSocket; the other's did.
    for (const [user, own] of [
      [alice, 0],
      [bob, 1],
    ] as const) {
      const received = (text: string) => user.frames.some((frame) => frame.includes(text));
      expect(
        texts
          .slice(1)
          .filter((_, i) => i % 2 === own)
          .filter(received),
      ).toEqual([]);
      expect(
        texts
          .slice(1)
          .filter((_, i) => i % 2 !== own)
          .every(received),
      ).toBe(true);
    }
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });

  it('should show the ticker throttled: the last tick published, after far fewer updates than ticks', { timeout: 45_000 }, async () => {
    const room = `ticker-${Date.now()}`;
    const THROTTLE_MS = 200;
    const TICKS = 100; // 2 s at 50 msg/s
    // The page loads this one and subscribes right after it: none of the ticker's ticks can be missed.
    const first = await publish(room, 'tick', { price: 1 });
    const { page, errors } = await openPage(`${staticOrigin}/dashboard/?room=${room}&throttleMs=${THROTTLE_MS}`);
    await page.waitForFunction((seq) => document.querySelector('[data-testid=price]')?.getAttribute('data-seq') === String(seq), first.seq);
    await showsStatus(page, 'live');

    const started = Date.now();
    const last = await runTicker(room, TICKS);
    const elapsedMs = Date.now() - started;
    expect(last.seq).toBe(first.seq + TICKS);

    await page.waitForFunction(
      ({ seq, price }) => {
        const shown = document.querySelector('[data-testid=price]');
        return shown?.getAttribute('data-seq') === String(seq) && shown.getAttribute('data-price') === String(price);
      },
      last,
      { timeout: 5_000 },
    );
    const updates = Number(await page.getByTestId('updates').textContent());
    const published = Number(await page.getByTestId('published').textContent());
    // Every tick from the first to the last is accounted for, in at most one update per window
    // (plus the one that opens the first window and the last held one).
    expect(published).toBe(TICKS);
    expect(updates).toBeGreaterThanOrEqual(2);
    expect(updates).toBeLessThanOrEqual(Math.ceil(elapsedMs / THROTTLE_MS) + 2);
    expect(updates).toBeLessThan(TICKS / 4);
    expect(errors).toEqual([]);
  });
});

/**
 * The example's ticker as a backend runs it: copied into a project of its own where roomcast is
 * installed (a link to this checkout, as `npm install ../..` makes), publishing through Redis.
 */
async function runTicker(room: string, count: number): Promise<{ seq: number; price: number }> {
  const app = join(work, 'ticker');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  symlinkSync(root, join(app, 'node_modules/roomcast'));
  copyFileSync(join(root, EXAMPLES.dashboard, 'scripts/ticker.mjs'), join(app, 'ticker.mjs'));
  const child = spawn(process.execPath, ['ticker.mjs', '--room', room, '--rate', '50', '--count', String(count)], {
    cwd: app,
    env: { ...process.env, REDIS_URL: redis!.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await within(new Promise((resolve) => child.once('exit', resolve)), 20_000, 'the ticker to publish its ticks').finally(() =>
    child.kill(),
  );
  if (code !== 0) throw new Error(`ticker exited with ${String(code)}: ${stderr}`);
  return JSON.parse(stdout.trim()) as { seq: number; price: number };
}
