/**
 * Baseline (a), the floor: the least work any Redis-backed WebSocket broadcast can do. Raw `ws` and
 * ioredis, no protocol: a client joins a room by connecting to `/?room=<room>`; the replica holds one
 * Redis SUBSCRIBE per room that has local sockets, and forwards each published message, as the bytes
 * Redis delivered (never decoded to a string, never parsed), to every socket of the room.
 * `POST /publish {room, data}` on any replica PUBLISHes `data` as JSON to the room's channel.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=0 node --import tsx bench/baselines/floor.ts
 */
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { baselineEnv, listen, parsePublishBody, readBody } from './process.js';

const env = baselineEnv();
const subscriber = new Redis(env.redisUrl);
const publisher = new Redis(env.redisUrl);
const rooms = new Map<string, Set<WebSocket>>();

subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
  const sockets = rooms.get(channel.toString());
  if (!sockets) return;
  // binary: false sends the Buffer as a text frame without converting it to a string per socket.
  for (const ws of sockets) ws.send(message, { binary: false });
});

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/publish') {
    res.writeHead(404).end();
    return;
  }
  readBody(req)
    .then(async (text) => {
      const body = parsePublishBody(text);
      if (!body) {
        res.writeHead(400).end();
        return;
      }
      await publisher.publish(body.room, JSON.stringify(body.data));
      res.writeHead(204).end();
    })
    .catch(() => res.writeHead(500).end());
});

// perMessageDeflate is off by default on a ws server; said here because compression would dominate the cost.
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const room = new URL(req.url ?? '/', 'http://localhost').searchParams.get('room');
  if (!room) {
    ws.close(4400, 'room required');
    return;
  }
  let sockets = rooms.get(room);
  if (!sockets) {
    sockets = new Set();
    rooms.set(room, sockets);
    void subscriber.subscribe(room);
  }
  sockets.add(ws);
  ws.on('close', () => {
    sockets.delete(ws);
    if (sockets.size === 0 && rooms.get(room) === sockets) {
      rooms.delete(room);
      void subscriber.unsubscribe(room);
    }
  });
});

listen(server, env.port, 'floor');
