/**
 * The WebSocket transport with the real graphql-ws client: delivery, mutations over the socket,
 * resume, gaps, bad input, and protocol misuse that must not disturb anyone else.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { BroadcastDocument, BroadcastsDocument, PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { executeWs, postGraphQL, subscribeWs, untilLive, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { within } from '../helpers/wait.js';

let server: TestServer;
const clients: Client[] = [];
let counter = 0;
const uniqueRoom = () => `ws-${counter++}`;
const connect = () => {
  const client = wsClient(server.wsUrl);
  clients.push(client);
  return client;
};

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
});

const publish = (room: string, n: number) =>
  postGraphQL(server.url, PublishDocument, { room, event: 'tick', data: { n } }).then((r) => r.body.data!.publish);

// The same behaviour with events written straight to sockets, and through graphql-ws one by one.
describe.each(['on', 'off'])('WebSocket (graphql-transport-ws), DIRECT_DELIVERY=%s', (directDelivery) => {
  beforeAll(async () => {
    server = await startTestServer({ HISTORY_SIZE: '5', DIRECT_DELIVERY: directDelivery });
  });
  afterAll(async () => {
    await server.close();
  });

  it('should deliver published messages to a subscriber in order, each once', async () => {
    const room = uniqueRoom();
    const socket = connect();
    const stream = subscribeWs(socket, RoomMessagesDocument, { room });
    const seqOf = (e: { data?: { messages: unknown } | null }) => (e.data?.messages as { seq: number }).seq;
    const live = await untilLive(stream, seqOf, () => publish(room, 0));
    // A mutation over the WebSocket, then one over HTTP.
    const sent = await executeWs(socket, PublishDocument, { room, event: 'tick', data: { n: 1 } });
    expect(sent.data?.publish).toMatchObject({ room, seq: live + 1, event: 'tick', data: { n: 1 } });
    await publish(room, 2);
    const events = await stream.take(2);
    expect(events.map((e) => e.data?.messages)).toMatchObject([
      { __typename: 'Message', room, seq: live + 1, event: 'tick', data: { n: 1 } },
      { __typename: 'Message', room, seq: live + 2, data: { n: 2 } },
    ]);
    expect((events[0]!.data!.messages as { cursor: string }).cursor).toBe(sent.data?.publish.cursor);
    await stream.expectNothing(100);
  });

  it('should resume after a cursor with exactly the missed messages, then live', async () => {
    const room = uniqueRoom();
    const one = await publish(room, 1);
    await publish(room, 2);
    await publish(room, 3);
    const socket = connect();
    const stream = subscribeWs(socket, RoomMessagesDocument, { room, after: one.cursor });
    const replayed = await stream.take(2);
    expect(replayed.map((e) => (e.data?.messages as { seq: number }).seq)).toEqual([2, 3]);
    await publish(room, 4);
    expect((await stream.next()).data?.messages).toMatchObject({ seq: 4, data: { n: 4 } });
    await stream.expectNothing(100);
  });

  it('should send a HistoryGap with the exact missed count, then what is held, when the cursor is too old', async () => {
    const room = uniqueRoom();
    const one = await publish(room, 1);
    for (let n = 2; n <= 8; n++) await publish(room, n);
    const stream = subscribeWs(connect(), RoomMessagesDocument, { room, after: one.cursor });
    const [gap, ...held] = await stream.take(6);
    expect(gap!.data?.messages).toEqual({ __typename: 'HistoryGap', room, after: one.cursor, missed: 2 });
    expect(held.map((e) => (e.data?.messages as { seq: number }).seq)).toEqual([4, 5, 6, 7, 8]);
  });

  it('should deliver broadcast messages to every broadcasts subscriber', async () => {
    const sender = connect();
    const broadcast = (n: number) => executeWs(sender, BroadcastDocument, { event: 'hello', data: { n } }).then((r) => r.data!.broadcast);
    const streams = [subscribeWs(connect(), BroadcastsDocument, {}), subscribeWs(connect(), BroadcastsDocument, {})];
    const seqOf = (e: { data?: { broadcasts: unknown } | null }) => (e.data?.broadcasts as { seq: number }).seq;
    const readUpTo: number[] = [];
    for (const stream of streams) readUpTo.push(await untilLive(stream, seqOf, () => broadcast(0)));
    const sent = await broadcast(1);
    for (const [i, stream] of streams.entries()) {
      // Skip the probes this stream saw after its own were done.
      while (readUpTo[i]! < sent.seq - 1) readUpTo[i] = seqOf(await stream.next());
      const events = await stream.take(1);
      expect(events.map((e) => e.data?.broadcasts)).toMatchObject([{ room: '*', seq: sent.seq, event: 'hello', data: { n: 1 } }]);
    }
  });

  it('should answer bad input with BAD_USER_INPUT and keep serving', async () => {
    const socket = connect();
    // A subscription whose set-up fails gets one result carrying the error, then completes.
    const expectRejected = async (variables: { room: string; after?: string }) => {
      const stream = subscribeWs(socket, RoomMessagesDocument, variables);
      const result = await stream.next();
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      await stream.ended();
      expect(stream.completed).toBe(true);
    };
    await expectRejected({ room: 'no spaces allowed' });
    await expectRejected({ room: 'r'.repeat(129) });
    await expectRejected({ room: 'r', after: 'not-a-cursor' });
    const otherRoomCursor = (await publish('elsewhere', 1)).cursor;
    await expectRejected({ room: 'here', after: otherRoomCursor });
    const badEvent = await executeWs(socket, PublishDocument, { room: 'r', event: 'x'.repeat(65), data: 1 });
    expect(badEvent.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const tooBig = await executeWs(socket, PublishDocument, { room: 'r', event: 'e', data: 'x'.repeat(70_000) });
    expect(tooBig.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    const ok = await executeWs(socket, PublishDocument, { room: 'r', event: 'e', data: 1 });
    expect(ok.data?.publish.seq).toBeGreaterThan(0);
  });

  it('should close a socket that breaks the protocol with a graphql-ws close code, without disturbing others', async () => {
    const room = uniqueRoom();
    const bystander = subscribeWs(connect(), RoomMessagesDocument, { room });
    const cases: { send: (ws: WebSocket) => void; code: number }[] = [
      { send: (ws) => ws.send('{not json'), code: 4400 },
      { send: (ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ __typename }' } })), code: 4401 },
      { send: (ws) => ws.send(JSON.stringify({ type: 'what' })), code: 4400 },
    ];
    for (const { send, code } of cases) {
      const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
      await within(new Promise((resolve) => ws.once('open', resolve)), 5_000, 'open');
      const closed = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
      send(ws);
      expect(await within(closed, 5_000, 'close')).toBe(code);
    }
    // Duplicate subscription ids on one acknowledged socket: 4409.
    const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const messages: string[] = [];
    ws.on('message', (data) => messages.push((data as Buffer).toString()));
    await within(new Promise((resolve) => ws.once('open', resolve)), 5_000, 'open');
    ws.send(JSON.stringify({ type: 'connection_init' }));
    await within(
      new Promise<void>((resolve) => ws.on('message', () => messages.some((m) => m.includes('connection_ack')) && resolve())),
      5_000,
      'ack',
    );
    const closed = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    const subscribe = JSON.stringify({
      type: 'subscribe',
      id: 'same',
      payload: { query: `subscription { messages(room: "${room}") { __typename } }` },
    });
    ws.send(subscribe);
    ws.send(subscribe);
    expect(await within(closed, 5_000, 'close')).toBe(4409);
    // A socket without the graphql-transport-ws subprotocol is refused with 4406.
    const plain = new WebSocket(server.wsUrl);
    expect(await within(new Promise<number>((resolve) => plain.once('close', (c) => resolve(c))), 5_000, 'close')).toBe(4406);
    // Everyone else still gets their messages.
    await publish(room, 1);
    expect((await bystander.next()).data?.messages).toMatchObject({ seq: 1 });
  });
});
