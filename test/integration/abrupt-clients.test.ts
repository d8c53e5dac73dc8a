/**
 * Clients that misbehave at the TCP level, against a real server process (what is at stake is the
 * process staying up and its log staying meaningful). WebSocket upgrades the server refuses before any
 * WebSocket exists (another path: 404, another origin: 403, an unparseable target: 400, draining: 503)
 * are answered on the raw socket, so whatever the client does next is that socket's business alone: a
 * reset must not take the server down, and a client that never closes must not hold the socket open.
 * WebSockets refused after the upgrade, and HTTP requests cut off mid-body or with a Host no URL can
 * be made of, likewise.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor, within } from '../helpers/wait.js';

const APP = 'https://app.example';
let replica: Replica;

beforeAll(async () => {
  replica = await startReplica({ CORS_ORIGINS: APP });
});
afterAll(async () => {
  await replica?.stop();
});

/** Sends an upgrade request on a raw socket; resolves with the socket once the status line arrived. */
function askUpgrade(
  path: string,
  origin: string,
  port = replica.port,
): Promise<{ socket: Socket; status: number; closedByServer: Promise<void> }> {
  return new Promise((resolve, reject) => {
    // Half open allowed: the client keeps its side open after the server ends its own.
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const closedByServer = new Promise<void>((ended) => socket.once('end', ended));
    let head = '';
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (status) resolve({ socket, status: Number(status[1]), closedByServer });
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n',
    );
  });
}

const refusals = [
  { what: 'another path', path: '/elsewhere', origin: APP, status: 404 },
  { what: 'another origin', path: '/graphql', origin: 'https://evil.example', status: 403 },
  { what: 'a target no URL parser accepts', path: '//[', origin: APP, status: 400 },
];

describe('refused WebSocket upgrades', () => {
  it.each(refusals)(
    'should survive clients that reset the connection after a refusal ($what, $status)',
    async ({ path, origin, status }) => {
      for (let i = 0; i < 20; i++) {
        const refused = await within(askUpgrade(path, origin), 5_000, 'the refusal');
        expect(refused.status).toBe(status);
        refused.socket.resetAndDestroy();
      }
      // Still up, and still upgrading the right requests.
      expect((await fetch(new URL('/healthz', replica.url))).status).toBe(200);
      const accepted = await within(askUpgrade('/graphql', APP), 5_000, 'an upgrade');
      expect(accepted.status).toBe(101);
      accepted.socket.destroy();
      expect(replica.process.exitCode).toBeNull();
      expect(replica.output.join('\n')).not.toContain('uncaught exception');
    },
  );

  it.each(refusals)('should close the connection itself once the refusal is sent ($what)', async ({ path, origin }) => {
    const refused = await within(askUpgrade(path, origin), 5_000, 'the refusal');
    await within(refused.closedByServer, 5_000, 'the server to end its side');
    // The client neither closes nor stops sending: a socket the server still held half open would
    // take these bytes forever; a closed one answers them with a reset.
    let failed: Error | undefined;
    refused.socket.removeAllListeners('error');
    refused.socket.on('error', (error) => (failed = error));
    await waitFor('the server to close the connection', () => {
      refused.socket.write('more\r\n');
      return failed;
    });
    expect((failed as NodeJS.ErrnoException).code).toMatch(/^(ECONNRESET|EPIPE)$/);
    refused.socket.destroy();
  });
});

describe('WebSockets refused after the upgrade', () => {
  it.each<{ limit: string; env: Record<string, string> }>([
    { limit: 'MAX_CONNECTIONS', env: { MAX_CONNECTIONS: '1' } },
    { limit: 'MAX_CONNECTIONS_PER_IP', env: { MAX_CONNECTIONS_PER_IP: '1' } },
  ])('should survive a refused client ($limit) that sends a broken frame', async ({ env }) => {
    const limited = await startReplica({ ...env, CORS_ORIGINS: APP });
    try {
      const holder = await within(
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(limited.wsUrl, 'graphql-transport-ws');
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
        5_000,
        'the first connection',
      );
      for (let i = 0; i < 5; i++) {
        const refused = await within(askUpgrade('/graphql', APP, limited.port), 5_000, 'the second upgrade');
        expect(refused.status).toBe(101);
        // An unmasked client frame: ws rejects it with an error on the refused, closing WebSocket.
        refused.socket.on('error', () => {});
        refused.socket.write(Buffer.from([0x81, 0x01, 0x61]));
        await within(refused.closedByServer, 5_000, 'the server to end the refused connection');
        refused.socket.destroy();
      }
      expect((await fetch(new URL('/healthz', limited.url))).status).toBe(200);
      expect(limited.process.exitCode).toBeNull();
      expect(limited.output.join('\n')).not.toContain('uncaught exception');
      holder.close();
    } finally {
      await limited.stop();
    }
  });
});

describe('HTTP requests cut off or malformed', () => {
  it('should take a client that resets mid-body as no error of its own', async () => {
    for (let i = 0; i < 10; i++) {
      const socket = connect(replica.port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      // A chunked body (so it goes through Yoga's own reading), cut off after its first chunk.
      await new Promise<void>((resolve) =>
        socket.write(
          'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"que\r\n',
          () => resolve(),
        ),
      );
      socket.resetAndDestroy();
    }
    expect((await fetch(new URL('/healthz', replica.url))).status).toBe(200);
    // The server has read the resets once a later request on the same loop is answered.
    expect(
      (await fetch(replica.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }))
        .status,
    ).toBe(200);
    expect(replica.output.filter((line) => line.includes('"level":"error"'))).toEqual([]);
  });

  it.each([
    { what: 'a GET', request: 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: [\r\nAccept: application/json\r\n\r\n' },
    { what: 'a POST', request: 'POST /graphql HTTP/1.1\r\nHost: [\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}' },
  ])('should answer $what whose Host makes no URL with 400', async ({ request }) => {
    const status = await within(
      new Promise<number>((resolve, reject) => {
        const socket = connect(replica.port, '127.0.0.1', () => socket.write(request));
        socket.on('error', reject);
        socket.once('data', (chunk) => {
          socket.destroy();
          resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1]));
        });
      }),
      5_000,
      'the answer',
    );
    expect(status).toBe(400);
  });
});
