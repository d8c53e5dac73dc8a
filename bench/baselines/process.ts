/**
 * What the three baseline servers share as processes: their environment (PORT, REDIS_URL), the one
 * JSON line that tells the harness they listen (the same shape as Roomcast's "roomcast listening"
 * line), reading a small request body, and leaving at once on SIGTERM or SIGINT: a baseline holds
 * nothing worth draining.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const READY_TEXT = '"bench baseline listening"';

export interface BaselineEnv {
  readonly port: number;
  readonly redisUrl: string;
}

export function baselineEnv(): BaselineEnv {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) throw new Error('REDIS_URL is required: every baseline runs as replicas over one Redis');
  return { port: Number(process.env.PORT ?? 0), redisUrl };
}

export function listen(server: Server, port: number, name: string): void {
  server.listen(port, '127.0.0.1', () => {
    const { port: actual } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ msg: 'bench baseline listening', baseline: name, port: actual })}\n`);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `{ room, data }`, the body of `POST /publish` for the floor and Socket.IO. */
export interface PublishBody {
  readonly room: string;
  readonly data: unknown;
}

export function parsePublishBody(text: string): PublishBody | undefined {
  const body = JSON.parse(text) as Partial<PublishBody>;
  return typeof body.room === 'string' && body.room.length > 0 && body.data !== undefined
    ? { room: body.room, data: body.data }
    : undefined;
}
