/**
 * The room inspector in a real browser (Debian's Chromium, driven by playwright-core), every request
 * to anywhere but this machine aborted: two replica processes on one Redis, WebSocket subscribers on
 * both, the page opened on one; a message published with a real `curl` shows up in the room's row
 * (seq, subscribers per replica, presence) and in the live tail. Then the page with auth on: the
 * token it keeps, FORBIDDEN said plainly, and the tail carrying the token.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RoomMessagesDocument } from '../generated/graphql.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';

const ROOM = 'inspected';
const SECRET = 'inspector-e2e-secret-of-at-least-32-bytes';
const SCREENSHOT = '/tmp/inspector.png';

const haveChromium = chromiumAvailable('the inspector browser test');

let redis: RedisServer;
let browser: Browser;
const replicas: Replica[] = [];
const clients: Client[] = [];
let authServer: TestServer | undefined;

beforeAll(async () => {
  if (!haveChromium) return;
  redis = await RedisServer.start(inject('redisServerBin'));
  const env = { REDIS_URL: redis.url, INSPECTOR_INTERVAL_MS: '200' };
  replicas.push(
    ...(await Promise.all([startReplica({ ...env, REPLICA_ID: 'replica-a' }), startReplica({ ...env, REPLICA_ID: 'replica-b' })])),
  );
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  await browser?.close();
  await authServer?.close();
  for (const replica of replicas.splice(0)) await replica.stop('SIGKILL');
  await redis?.stop();
});

const isLocal = (url: string) => {
  const { protocol, hostname } = new URL(url);
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(protocol)) return true;
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
};

/** A browser context that refuses the internet, and what its page did wrong. */
async function openContext(): Promise<{ context: BrowserContext; page: Page; problems: () => string[] }> {
  const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
  context.setDefaultTimeout(15_000);
  const external: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    external.push(url);
    return route.abort('internetdisconnected');
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(`page error: ${error.stack ?? String(error)}`));
  // A CSP violation is reported as a console error.
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return { context, page, problems: () => [...external.map((url) => `external request: ${url}`), ...errors] };
}

/** Publishes with a real curl process, as the README shows; returns the mutation's answer. */
async function curlPublish(url: string, room: string, data: unknown, token?: string): Promise<{ seq: number; cursor: string }> {
  const body = JSON.stringify({
    query: 'mutation($room: ID!, $d: JSON!) { publish(room: $room, event: "chat", data: $d) { seq cursor } }',
    variables: { room, d: data },
  });
  const auth = token ? ['-H', `authorization: Bearer ${token}`] : [];
  const { stdout } = await promisify(execFile)('curl', [
    '-s',
    '--max-time',
    '10',
    url,
    '-H',
    'content-type: application/json',
    ...auth,
    '-d',
    body,
  ]);
  const answer = JSON.parse(stdout) as { data?: { publish: { seq: number; cursor: string } }; errors?: unknown };
  if (!answer.data) throw new Error(`curl publish failed: ${stdout}`);
  return answer.data.publish;
}

function subscribers(url: string, clientId: string, count: number, connectionParams: Record<string, unknown> = {}): Stream<unknown>[] {
  const client = wsClient(url, { connectionParams: { clientId, ...connectionParams } });
  clients.push(client);
  return Array.from({ length: count }, () => subscribeWs(client, RoomMessagesDocument, { room: ROOM }) as Stream<unknown>);
}

const row = (page: Page, room: string) => page.locator(`#rooms tbody tr[data-room="${room}"]`);
const share = (page: Page, room: string, replica: string, count: number) =>
  row(page, room).locator(`span[data-replica="${replica}"][data-subscribers="${count}"]`);

describe.runIf(haveChromium)('the room inspector in a browser', () => {
  it(
    'should show the rooms of both replicas, and a message published with curl in the room and the live tail',
    { timeout: 120_000 },
    async () => {
      const [a, b] = replicas as [Replica, Replica];
      const onA = subscribers(a.wsUrl, 'watcher-a', 2);
      const onB = subscribers(b.wsUrl, 'watcher-b', 1);
      const { context, page, problems } = await openContext();
      try {
        const response = await page.goto(`${new URL(a.url).origin}/inspect?refresh=250`, { waitUntil: 'load' });
        expect(response?.status()).toBe(200);
        expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");

        // Both replicas report, and the room lists each one's subscribers (B's through Redis).
        await page.locator('#replicas tbody tr[data-replica="replica-b"]').waitFor();
        await share(page, ROOM, 'replica-a', 2).waitFor();
        await share(page, ROOM, 'replica-b', 1).waitFor();
        await expect.poll(() => row(page, ROOM).locator('.presence').innerText(), { timeout: 15_000 }).toBe('2');

        // Tail the room: its event stream is one more subscriber on replica A, which is how the test
        // knows the tail is live before publishing.
        await row(page, ROOM).getByRole('button', { name: 'Tail' }).click();
        await share(page, ROOM, 'replica-a', 3).waitFor();

        const marker = `from-curl-${Date.now()}`;
        const published = await curlPublish(b.url, ROOM, { text: marker });
        const line = page.locator(`#tail li[data-seq="${published.seq}"]`);
        await line.waitFor();
        expect(await line.innerText()).toContain(marker);
        await expect.poll(() => row(page, ROOM).locator('.seq').innerText(), { timeout: 15_000 }).toBe(String(published.seq));
        expect(await row(page, ROOM).locator('.epoch').innerText()).toMatch(/\S/);

        // The publish form, tail and real subscribers agree on the next message.
        await page.locator('#publish-data').fill('{"text": "from the form"}');
        await page.getByRole('button', { name: 'Publish' }).click();
        await page
          .locator('#publish-result')
          .filter({ hasText: `seq ${published.seq + 1}` })
          .waitFor();
        await page
          .locator(`#tail li[data-seq="${published.seq + 1}"]`)
          .filter({ hasText: 'from the form' })
          .waitFor();
        for (const stream of [...onA, ...onB]) {
          const texts = (await stream.take(2, 15_000)).map((result) => JSON.stringify(result));
          expect(texts[0]).toContain(marker);
          expect(texts[1]).toContain('from the form');
        }
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
        expect(problems()).toEqual([]);
      } catch (error) {
        await page.screenshot({ path: SCREENSHOT, fullPage: true }).catch(() => {});
        if (error instanceof Error)
          error.message += `\npage problems: ${JSON.stringify(problems())}\nstatus: ${await page
            .locator('#status')
            .innerText()
            .catch(() => '?')}`;
        throw error;
      } finally {
        await context.close();
      }
    },
  );

  it('should keep the token for the session, say FORBIDDEN plainly, and tail with the token', { timeout: 90_000 }, async () => {
    authServer = await startTestServer({ AUTH_JWT_SECRET: SECRET, REPLICA_ID: 'auth-replica' });
    const sign = (capability: Record<string, string[]>) =>
      new SignJWT({ sub: 'inspector-admin', roomcast: capability })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(SECRET));
    const admin = await sign({ '@admin': ['inspect'], [ROOM]: ['subscribe', 'publish'] });
    const lacking = await sign({ [ROOM]: ['subscribe', 'publish'] });
    subscribers(authServer.wsUrl, 'member', 1, { authToken: admin });
    const { context, page, problems } = await openContext();
    try {
      await page.goto(`${new URL(authServer.url).origin}/inspect?refresh=250`);
      await page.locator('#status').filter({ hasText: 'Not signed in' }).waitFor();

      await page.locator('#token').fill(lacking);
      await page.getByRole('button', { name: 'Use' }).click();
      await page.locator('#status').filter({ hasText: 'Forbidden: the token does not allow inspect on "@admin"' }).waitFor();

      await page.locator('#token').fill(admin);
      await page.getByRole('button', { name: 'Use' }).click();
      await share(page, ROOM, 'auth-replica', 1).waitFor();

      // Kept in sessionStorage: a reload still has it.
      await page.reload();
      expect(await page.locator('#token').inputValue()).toBe(admin);
      await row(page, ROOM).getByRole('button', { name: 'Tail' }).click();
      await share(page, ROOM, 'auth-replica', 2).waitFor();
      const { seq } = await curlPublish(authServer.url, ROOM, { text: 'with a token' }, admin);
      await page.locator(`#tail li[data-seq="${seq}"]`).filter({ hasText: 'with a token' }).waitFor();
      // The refused requests (401, then 403) are Chromium's console errors by design; nothing else may be.
      const refusals = /Failed to load resource: the server responded with a status of 40[13]/;
      expect(problems().filter((problem) => !refusals.test(problem))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
