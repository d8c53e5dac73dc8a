/**
 * Baseline (b), the textbook stack, built the way the tutorials show: `ws` + graphql-ws `useServer`
 * + graphql-js + graphql-redis-subscriptions. Every subscriber holds its own `RedisPubSub`
 * asyncIterator on the room (RedisPubSub shares one Redis SUBSCRIBE per channel per replica and
 * decodes each message once per replica), and graphql-js resolves and serializes every event for
 * every subscriber. The publish mutation runs over a minimal HTTP endpoint (`POST /graphql`).
 * Same operations as Roomcast's (schema in textbook-schema.ts).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=0 node --import tsx bench/baselines/textbook.ts
 */
import { createServer } from 'node:http';
import { graphql } from 'graphql';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { useServer } from 'graphql-ws/use/ws';
import { Redis } from 'ioredis';
import { WebSocketServer } from 'ws';
import { baselineEnv, listen, readBody } from './process.js';
import { textbookSchema } from './textbook-schema.js';

const env = baselineEnv();
const pubsub = new RedisPubSub({ publisher: new Redis(env.redisUrl), subscriber: new Redis(env.redisUrl) });
const schema = textbookSchema(pubsub);

interface GraphQLRequestBody {
  readonly query?: string;
  readonly variables?: Record<string, unknown>;
  readonly operationName?: string;
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/graphql') {
    res.writeHead(404).end();
    return;
  }
  readBody(req)
    .then(async (text) => {
      const body = JSON.parse(text) as GraphQLRequestBody;
      const result = await graphql({
        schema,
        source: body.query ?? '',
        variableValues: body.variables,
        operationName: body.operationName,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    })
    .catch(() => res.writeHead(400).end());
});

const wss = new WebSocketServer({ server, path: '/graphql' });
useServer({ schema }, wss);

listen(server, env.port, 'textbook');
