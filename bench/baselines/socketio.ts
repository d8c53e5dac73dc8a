/**
 * Baseline (c), what a user would pick instead of us: Socket.IO 4 with @socket.io/redis-adapter.
 * A client emits `join` with a room (acknowledged once joined); `POST /publish {room, data}` on any
 * replica does `io.to(room).emit('msg', data)`, which the adapter delivers to this replica's sockets
 * and, through Redis, to the other replicas'. Socket.IO encodes a broadcast once and writes the same
 * pre-encoded frame to every socket of the room. WebSocket transport only, as the clients use it
 * (long-polling would measure HTTP instead).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=0 node --import tsx bench/baselines/socketio.ts
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { baselineEnv, listen, parsePublishBody, readBody } from './process.js';

const env = baselineEnv();
const pubClient = new Redis(env.redisUrl);
const subClient = pubClient.duplicate();

const server = createServer((req, res) => {
  // Socket.IO answers its own path (/socket.io/) before this handler is called.
  if (req.method !== 'POST' || req.url !== '/publish') {
    res.writeHead(404).end();
    return;
  }
  readBody(req)
    .then((text) => {
      const body = parsePublishBody(text);
      if (!body) {
        res.writeHead(400).end();
        return;
      }
      io.to(body.room).emit('msg', body.data);
      res.writeHead(204).end();
    })
    .catch(() => res.writeHead(500).end());
});

const io = new Server(server, {
  serveClient: false,
  transports: ['websocket'],
  adapter: createAdapter(pubClient, subClient),
});
io.on('connection', (socket) => {
  socket.on('join', (room: unknown, ack?: () => void) => {
    if (typeof room !== 'string') return;
    void Promise.resolve(socket.join(room)).then(() => ack?.());
  });
});

listen(server, env.port, 'socketio');
