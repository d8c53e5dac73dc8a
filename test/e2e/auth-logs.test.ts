/**
 * No token reaches a log line: a replica logging at debug is sent tokens every way they travel (a
 * header, `?token=` on an event stream, connection_init), good and bad, and its whole output is
 * searched for them. Each WebSocket connection gets a line when it opens and when it closes, with its id
 * and its user.
 */
import { SignJWT } from 'jose';
import { print } from 'graphql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HistoryDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { subscribeWs, wsClient } from '../helpers/clients.js';
import { startReplica, type Replica } from '../helpers/replica.js';

const SECRET = 'another-test-secret-of-32-bytes-or-more';
let replica: Replica;

beforeAll(async () => {
  replica = await startReplica({ AUTH_JWT_SECRET: SECRET, LOG_LEVEL: 'debug' });
});
afterAll(async () => {
  await replica?.stop();
});

it('should never write a token, good or bad, to its logs', async () => {
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('1m').sign(new TextEncoder().encode(SECRET));
  const good = await sign({ sub: 'logged-user', roomcast: { r: ['*'] } });
  const forbidden = await sign({ sub: 'other' });
  const tampered = `${good.slice(0, -4)}AAAA`;
  const tokens = [good, forbidden, tampered, 'not-a-jwt-but-secret-looking-0123456789'];
  const signatures = tokens.map((token) => token.split('.').at(-1)!);

  for (const token of tokens) {
    await fetch(replica.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(HistoryDocument), variables: { room: 'r' } }),
    });
    const url = new URL(replica.url);
    url.searchParams.set('query', print(RoomMessagesDocument));
    url.searchParams.set('variables', JSON.stringify({ room: 'r' }));
    url.searchParams.set('token', token);
    const stream = await fetch(url, { headers: { accept: 'text/event-stream' } });
    await stream.body?.cancel();
    const client = wsClient(replica.wsUrl, { connectionParams: { authToken: token } });
    const result = subscribeWs(client, HistoryDocument, { room: 'r' });
    await result.ended().catch(() => {});
    await client.dispose();
  }
  await replica.stop();
  const output = replica.output.join('\n');
  expect(output).toContain('refused a WebSocket connection'); // the logs did see the bad tokens' connections
  for (const secret of [...tokens, ...signatures]) expect(output).not.toContain(secret);

  // One line per connection opened and closed (debug), with its id, and the user once a token named one.
  const lines = replica.output.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  const opened = lines.filter((line) => line.msg === 'WebSocket connection opened');
  const closed = lines.filter((line) => line.msg === 'WebSocket connection closed');
  expect(opened.length).toBe(tokens.length);
  expect(new Set(opened.map((line) => line.connection)).size).toBe(tokens.length);
  expect(closed.map((line) => line.connection).sort()).toEqual(opened.map((line) => line.connection).sort());
  expect(closed.filter((line) => line.user === 'logged-user')).toHaveLength(1);
  expect(closed.every((line) => line.level === 'debug' && line.replica !== undefined && typeof line.code === 'number')).toBe(true);
});
