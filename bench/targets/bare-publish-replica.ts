/**
 * A Roomcast replica with one more route, for the benchmark only (not part of the product): `POST
 * /publish {room, data}` publishes through a Redis broker of its own with `broker.publish`, the same
 * Lua script and Redis round trip as the `publish` mutation's resolver, while the replica's own broker
 * fans the message out as usual. Next to `roomcast-redis`, whose publisher sends the mutation, it shows
 * what the GraphQL request layer (Yoga, envelop, execution, result) costs per publish.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { brokerFromConfig } from '../../src/broker/index.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer } from '../../src/server.js';
import { parsePublishBody, readBody } from '../baselines/process.js';

const config = loadConfig();
const log = createLogger(config.logLevel, { replica: config.replicaId });
const server = await startServer(config, log);
const broker = brokerFromConfig(config, log);

const roomcastListeners = server.httpServer.listeners('request') as RequestListener[];
server.httpServer.removeAllListeners('request');
server.httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
  if (req.method === 'POST' && req.url === '/publish') void publish(req, res);
  else for (const listener of roomcastListeners) listener.call(server.httpServer, req, res);
});

async function publish(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const body = parsePublishBody(await readBody(req));
    if (!body) {
      res.writeHead(400).end();
      return;
    }
    const message = await broker.publish(body.room, 'bench', JSON.stringify(body.data));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ seq: message.seq }));
  } catch (error) {
    log.error('bare publish failed', { error });
    if (!res.headersSent) res.writeHead(500).end();
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void Promise.all([server.close(), broker.close()]).finally(() => process.exit(0));
  });
}
