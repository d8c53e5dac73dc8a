/**
 * Publishing from a backend process, without HTTP: the `publish` mutation's validation and the
 * server's own publish script (broker/redis-publish.ts) on a Redis connection of the publisher's, so
 * every replica's subscribers get the message exactly as if a mutation had published it. The backend
 * is trusted: it names the message's sender itself.
 */
import { badUserInput, ErrorCode, RoomcastError } from '../errors.js';
import { redisKeys } from '../broker/redis-keys.js';
import { quit, redisFailure } from '../broker/redis-connection.js';
import { publishingConnection, runPublish, waitSettings, type PublishSettings } from '../broker/redis-publish.js';
import { encodeCursor } from '../rooms/cursor.js';
import { parseIdempotencyKey } from '../rooms/idempotency.js';
import { encodeData, type Message } from '../rooms/message.js';
import { BROADCAST_ROOM, parseEventName, parseRoomId } from '../rooms/names.js';
import { publisherSettings, type PublisherOptions } from './options.js';
import { untilReady } from './ready.js';

export interface PublishOptions {
  /**
   * Names the message: a repeat with the same key, room and sender within the idempotency window
   * returns the message first stored under it and publishes nothing. 1-128 characters. Shared with
   * the mutation: a key is scoped to the sender, as a mutation's is to its token's `sub`.
   */
  readonly idempotencyKey?: string;
  /** `Message.sender` to record (a mutation records its token's `sub`); null or absent: none. */
  readonly sender?: string | null;
}

/** The stored message, as the `publish` mutation returns it. */
export interface PublishedMessage {
  readonly room: string;
  readonly seq: number;
  readonly event: string;
  readonly data: unknown;
  readonly publishedAt: Date;
  readonly sender: string | null;
  /** Pass it as `after` to resume right after this message. */
  readonly cursor: string;
}

export interface Publisher {
  /** Publishes to `room`; RoomcastError BAD_USER_INPUT, PAYLOAD_TOO_LARGE or UNAVAILABLE, as the mutation. */
  publish(room: string, event: string, data: unknown, options?: PublishOptions): Promise<PublishedMessage>;
  /** Publishes to every `broadcasts` subscriber (room "*"). */
  broadcast(event: string, data: unknown, options?: PublishOptions): Promise<PublishedMessage>;
  /** Waits for the replies still due, then closes the connection. */
  close(): Promise<void>;
}

export function createPublisher(options: PublisherOptions): Publisher {
  const settings = publisherSettings(options);
  const script: PublishSettings = {
    keys: redisKeys(settings.keyPrefix),
    historySize: settings.historySize,
    historyTtlSeconds: settings.historyTtlSeconds,
    idempotencyTtlSeconds: settings.idempotencyTtlSeconds,
    ...waitSettings(settings.waitReplicas, settings.timeoutMs),
  };
  const client = publishingConnection(settings.redis, settings.timeoutMs, 'roomcast:backend-publisher');
  let lastError = '';
  // Without a listener ioredis prints every failed reconnect; the reason goes into UNAVAILABLE instead.
  client.on('error', (error: Error) => (lastError = redisFailure(error)));
  client.on('ready', () => (lastError = ''));
  let closed = false;

  const send = async (room: string, event: string, data: unknown, { idempotencyKey, sender = null }: PublishOptions = {}) => {
    const request = {
      room,
      event: parseEventName(event),
      dataJson: encodeData(data, settings.maxPayloadBytes, 'maxPayloadBytes'),
      sender: parseSender(sender),
      idempotencyKey: parseIdempotencyKey(idempotencyKey),
    };
    if (closed) throw new RoomcastError(ErrorCode.UNAVAILABLE, 'the publisher is closed');
    try {
      await untilReady(client, settings.timeoutMs);
    } catch (error) {
      throw new RoomcastError(ErrorCode.UNAVAILABLE, `Redis is unavailable: ${withCause(error, lastError)}`);
    }
    try {
      return published(await runPublish(client, script, request));
    } catch (error) {
      throw error instanceof RoomcastError ? error : failedPublish(error, lastError);
    }
  };

  return {
    publish: async (room, event, data, publishOptions) => send(parseRoomId(room), event, data, publishOptions),
    broadcast: (event, data, publishOptions) => send(BROADCAST_ROOM, event, data, publishOptions),
    async close() {
      closed = true;
      await quit(client, settings.timeoutMs);
    },
  };
}

function parseSender(sender: unknown): string | null {
  if (sender === null || typeof sender === 'string') return sender;
  throw badUserInput('sender must be a string or null');
}

function published(message: Message): PublishedMessage {
  const { room, seq, event, data, publishedAt, sender } = message;
  return { room, seq, event, data, publishedAt: new Date(publishedAt), sender, cursor: encodeCursor(message) };
}

/**
 * A publish sent that failed. An error reply (ROOMCAST_PROTOCOL: the room was written by another
 * version) was not stored; any other failure (a timeout, a lost connection) may have been.
 */
function failedPublish(error: unknown, connectionError: string): RoomcastError {
  if (error instanceof Error && error.name === 'ReplyError') {
    return new RoomcastError(ErrorCode.UNAVAILABLE, `Redis refused the publish: ${error.message}`);
  }
  return new RoomcastError(
    ErrorCode.UNAVAILABLE,
    `Redis did not answer the publish (${withCause(error, connectionError)}); it may have been stored: retry with its idempotencyKey`,
  );
}

/** The error's message, and the connection's last error when it says more (ECONNREFUSED behind a timeout). */
function withCause(error: unknown, connectionError: string): string {
  const message = error instanceof Error ? error.message : String(error);
  return connectionError && !message.includes(connectionError) ? `${message}; last connection error: ${connectionError}` : message;
}
