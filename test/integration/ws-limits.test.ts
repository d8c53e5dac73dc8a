/**
 * WebSocket limits, each with its documented error or close code, and the server serving others after.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { acknowledged, closeCode, opened } from '../helpers/raw-ws.js';
import { within } from '../helpers/wait.js';

const servers: TestServer[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const server of servers.splice(0)) await server.close();
});

async function serverWith(env: Record<string, string>): Promise<TestServer> {
  const server = await startTestServer(env);
  servers.push(server);
  return server;
}

function rawSocket(server: TestServer): WebSocket {
  const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
  sockets.push(ws);
  return ws;
}

describe('WebSocket limits', () => {
  it('should refuse an operation past MAX_SUBSCRIPTIONS_PER_CONNECTION with TOO_MANY_SUBSCRIPTIONS, and accept one again once another ends', async () => {
    const server = await serverWith({ MAX_SUBSCRIPTIONS_PER_CONNECTION: '3' });
    const client = wsClient(server.wsUrl);
    try {
      const start = (await postGraphQL(server.url, PublishDocument, { room: 'r', event: 'e', data: 0 })).body.data!.publish;
      const streams = [1, 2, 3].map(() => subscribeWs(client, RoomMessagesDocument, { room: 'r', after: start.cursor }));
      await postGraphQL(server.url, PublishDocument, { room: 'r', event: 'e', data: 1 });
      for (const stream of streams) await stream.next();
      const fourth = subscribeWs(client, RoomMessagesDocument, { room: 'r' });
      await fourth.ended();
      expect(fourth.error).toMatchObject([{ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } }]);
      streams[0]!.dispose();
      const again = subscribeWs(client, RoomMessagesDocument, { room: 'r', after: start.cursor });
      expect((await again.next()).data?.messages).toMatchObject({ seq: 2 });
    } finally {
      await client.dispose();
    }
  });

  it('should close connections past MAX_CONNECTIONS with 1013 (try again later)', async () => {
    const server = await serverWith({ MAX_CONNECTIONS: '2' });
    const first = rawSocket(server);
    const second = rawSocket(server);
    await acknowledged(first);
    await acknowledged(second);
    const third = rawSocket(server);
    expect(await closeCode(third)).toBe(1013);
    first.close();
    await closeCode(first);
    await acknowledged(rawSocket(server));
  });

  it('should close a socket that sends a message over WS_MAX_PAYLOAD_BYTES with 1009', async () => {
    const server = await serverWith({ WS_MAX_PAYLOAD_BYTES: '2048' });
    const ws = rawSocket(server);
    await acknowledged(ws);
    const closed = closeCode(ws);
    ws.send(JSON.stringify({ type: 'ping', payload: { pad: 'x'.repeat(4096) } }));
    expect(await closed).toBe(1009);
    await acknowledged(rawSocket(server));
  });

  it('should cut off a peer that stops answering pings after KEEPALIVE_MS, and keep one that answers', async () => {
    const server = await serverWith({ KEEPALIVE_MS: '100' });
    const silent = new WebSocket(server.wsUrl, 'graphql-transport-ws', { autoPong: false });
    sockets.push(silent);
    const answering = rawSocket(server);
    await acknowledged(silent);
    await acknowledged(answering);
    expect(await closeCode(silent)).toBe(1006);
    expect(answering.readyState).toBe(WebSocket.OPEN);
  });

  it('should close a socket that sends no connection_init within CONNECTION_INIT_TIMEOUT_MS with 4408', async () => {
    const server = await serverWith({ CONNECTION_INIT_TIMEOUT_MS: '200' });
    const ws = rawSocket(server);
    await opened(ws);
    expect(await closeCode(ws)).toBe(4408);
  });

  it('should close a client that keeps sending but never reads its answers, past MAX_BUFFERED_BYTES, and serve others', async () => {
    const server = await serverWith({ MAX_BUFFERED_BYTES: '65536' });
    const ws = rawSocket(server);
    await acknowledged(ws);
    const closed = within(new Promise<number>((resolve) => ws.once('close', resolve)), 15_000, 'the server to close the socket');
    ws.pause();
    // Operations that fail validation, each answered with ~40 errors: several MB of answers in all,
    // far past what the sockets' kernel buffers take, so the server itself holds what is not read.
    const unknownFields = Array.from({ length: 40 }, (_, i) => `field${i}`).join(' ');
    for (let i = 0; i < 3_000; i++) {
      ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: `{ ${unknownFields} }` } }));
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
    }
    ws.resume();
    // 4008 when its close frame gets through the backlog before the grace ends, 1006 when it is cut off.
    expect([4008, 1006]).toContain(await closed);
    const { body } = await postGraphQL(server.url, PublishDocument, { room: 'after', event: 'e', data: 1 });
    expect(body.data?.publish.seq).toBe(1);
  });
});
