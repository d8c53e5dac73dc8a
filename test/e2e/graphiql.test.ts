/**
 * GraphiQL in a real browser (Debian's Chromium, driven by playwright-core) with every request to
 * anywhere but this machine aborted: the page must render from the installed package alone, and a
 * subscription typed into its editor must run over the WebSocket and show published messages.
 */
import type { Browser, Page, WebSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishDocument } from '../generated/graphql.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { postGraphQL } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { waitFor } from '../helpers/wait.js';

const ROOM = 'graphiql';
const SUBSCRIPTION = `subscription { messages(room: "${ROOM}") { ... on Message { seq data } } }`;
const SCREENSHOT = '/tmp/graphiql.png';

let server: TestServer;
let browser: Browser;

const haveChromium = chromiumAvailable('the GraphiQL browser test');

beforeAll(async () => {
  if (!haveChromium) return;
  server = await startTestServer();
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const isLocal = (url: string) => {
  const { protocol, hostname } = new URL(url);
  // Anything that does not leave the page (blob:, data:, about:) is local by nature.
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(protocol)) return true;
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
};

/** The text Monaco renders for an editor, with its non-breaking spaces made plain again. */
const editorText = async (page: Page, region: string) =>
  (await page.getByRole('region', { name: region }).locator('.view-lines').innerText()).replace(/\u00a0/g, ' ');

describe.runIf(haveChromium)('GraphiQL in a browser with no internet', () => {
  it('should render from local assets only and show a subscription over the WebSocket', { timeout: 90_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 800 } });
    context.setDefaultTimeout(10_000);
    const external: string[] = [];
    const requests: string[] = [];
    const pageErrors: string[] = [];
    const consoleErrors: string[] = [];
    const sockets: WebSocket[] = [];
    const framesReceived: string[] = [];
    // On the context, so that any page it opens (popups included) is covered, not just this one.
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      external.push(`${route.request().method()} ${url}`);
      return route.abort('internetdisconnected');
    });
    context.on('request', (request) => requests.push(`${request.method()} ${request.url()}`));
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.stack ?? String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('websocket', (ws) => {
      sockets.push(ws);
      ws.on('framereceived', ({ payload }) => framesReceived.push(String(payload)));
    });
    const diagnostics = () =>
      JSON.stringify({ external, pageErrors, consoleErrors, sockets: sockets.map((s) => s.url()), requests }, null, 2);

    try {
      const response = await page.goto(server.url, { waitUntil: 'load', timeout: 30_000 });
      expect(response?.status()).toBe(200);

      // The editor has rendered once Monaco shows the default query from src/transports/http.ts.
      const operationEditor = page.getByRole('region', { name: 'Operation Editor' });
      await operationEditor.locator('.view-lines').filter({ hasText: 'subscription Lobby' }).waitFor({ timeout: 30_000 });
      const execute = page.getByRole('button', { name: /^Execute query/ });
      await execute.waitFor({ timeout: 10_000 });

      // Replace the whole document. insertText commits the string in one go, so Monaco's
      // auto-closing brackets and quotes and its suggestions do not rewrite it as typing would.
      // Click the text as a user would (Monaco's own textarea sits under it), which focuses it.
      await operationEditor.locator('.view-lines').click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Delete');
      await page.keyboard.insertText(SUBSCRIPTION);
      const query = () => editorText(page, 'Operation Editor');
      await waitFor('the editor to hold the subscription', async () => (await query()).trim() === SUBSCRIPTION);

      // GraphiQL takes the edit into its state (parsed operations, tab title) about 100 ms later.
      // Until then the button still sees the default document's two operations and is a menu to
      // pick one (aria-haspopup="menu"), and a click opens that menu instead of running anything.
      await page.getByRole('tab', { name: '<untitled>', selected: true }).waitFor();
      const runsAtOnce = execute.and(page.locator('button:not([aria-haspopup])'));
      await runsAtOnce.waitFor();
      await runsAtOnce.click();
      // While a subscription runs the button turns into a stop button.
      await page.getByRole('button', { name: /^Stop query/ }).waitFor({ timeout: 10_000 });

      // graphql-ws has no "subscribed" acknowledgement: publish probes until one shows up.
      const result = () => editorText(page, 'Result Window');
      let probes = 0;
      await waitFor(
        'a probe in the result pane',
        async () => {
          const text = await result();
          if (text.includes('"probe-')) return true;
          probes++;
          const data = { marker: `probe-${probes}` };
          const { body } = await postGraphQL(server.url, PublishDocument, { room: ROOM, event: 'probe', data });
          if (!body.data) throw new Error(JSON.stringify(body.errors));
          return false;
        },
        20_000,
        250,
      );

      // The subscription is live: this message must be what the pane shows next.
      const marker = `hello-from-the-test-${Date.now()}`;
      const { body } = await postGraphQL(server.url, PublishDocument, { room: ROOM, event: 'chat', data: { text: marker } });
      const published = body.data!.publish;
      await waitFor('the published message in the result pane', async () => (await result()).includes(marker), 10_000);
      // Every message result carries its resume cursor in extensions, whatever the selection.
      expect(JSON.parse(await result())).toEqual({
        data: { messages: { seq: published.seq, data: { text: marker } } },
        extensions: { cursor: published.cursor },
      });
      await page.screenshot({ path: SCREENSHOT });

      // It came over the WebSocket (graphql-transport-ws), not over HTTP.
      // Routes do not see WebSockets; every socket the page opened is listed here instead.
      expect(sockets.map((s) => s.url())).toEqual([server.wsUrl]);
      expect(framesReceived.some((frame) => frame.includes('"type":"next"') && frame.includes(marker))).toBe(true);

      expect(external, diagnostics()).toEqual([]);
      expect(
        requests.filter((r) => !isLocal(r.slice(r.indexOf(' ') + 1))),
        diagnostics(),
      ).toEqual([]);
      expect(pageErrors, diagnostics()).toEqual([]);
      expect(consoleErrors, diagnostics()).toEqual([]);
    } catch (error) {
      // A wait that timed out says little by itself: say what the page asked for and what failed.
      if (error instanceof Error && !error.message.includes('"external"')) {
        const shown = await editorText(page, 'Result Window').catch(() => '(no result pane)');
        error.message += `\n${diagnostics()}\nresult pane: ${shown}`;
      }
      await page.screenshot({ path: SCREENSHOT }).catch(() => {});
      throw error;
    } finally {
      await context.close();
    }
  });
});
