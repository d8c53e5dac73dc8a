/**
 * `publish --redis <url>`: through roomcast/publisher, with the replicas' settings read from the
 * same environment variables a replica reads (REDIS_KEY_PREFIX, HISTORY_SIZE, HISTORY_TTL_SECONDS,
 * IDEMPOTENCY_TTL_SECONDS, MAX_PAYLOAD_BYTES, BROKER_TIMEOUT_MS), checked as a replica checks them.
 */
import { ConfigError, loadConfig } from '../config.js';
import { createPublisher, isRoomcastError, type PublishedMessage } from '../publisher/index.js';
import { CliError, ExitCode, usageError } from './failure.js';
import { BROADCAST_ROOM } from './operations.js';
import { PUBLISH_USAGE } from './usage.js';

const SHARED_SETTINGS = [
  'REDIS_KEY_PREFIX',
  'HISTORY_SIZE',
  'HISTORY_TTL_SECONDS',
  'IDEMPOTENCY_TTL_SECONDS',
  'MAX_PAYLOAD_BYTES',
  'BROKER_TIMEOUT_MS',
];

export interface RedisPublish {
  readonly room: string;
  readonly event: string;
  readonly data: unknown;
  readonly idempotencyKey: string | undefined;
  readonly sender: string | undefined;
}

/** The stored message, shaped as the mutation returns it. */
export async function publishThroughRedis(redisUrl: string, request: RedisPublish): Promise<unknown> {
  const publisher = createPublisher(settings(redisUrl));
  try {
    const options = { idempotencyKey: request.idempotencyKey, sender: request.sender ?? null };
    const message =
      request.room === BROADCAST_ROOM
        ? await publisher.broadcast(request.event, request.data, options)
        : await publisher.publish(request.room, request.event, request.data, options);
    return asMessage(message);
  } catch (error) {
    if (isRoomcastError(error)) throw new CliError(error.code, error.message, ExitCode.REFUSED);
    throw error;
  } finally {
    await publisher.close().catch(() => {});
  }
}

function settings(redisUrl: string) {
  const env = Object.fromEntries(SHARED_SETTINGS.map((name) => [name, process.env[name]]));
  try {
    const config = loadConfig({ ...env, REDIS_URL: redisUrl });
    return {
      redisUrl: config.redisUrl!,
      keyPrefix: config.redisKeyPrefix,
      historySize: config.historySize,
      historyTtlSeconds: config.historyTtlSeconds,
      idempotencyTtlSeconds: config.idempotencyTtlSeconds,
      maxPayloadBytes: config.maxPayloadBytes,
      timeoutMs: config.brokerTimeoutMs,
    };
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message.replace('REDIS_URL', '--redis'), PUBLISH_USAGE);
    throw error;
  }
}

function asMessage(message: PublishedMessage) {
  const { room, seq, event, data, cursor, publishedAt, sender } = message;
  return { __typename: 'Message', room, seq, event, data, cursor, publishedAt: publishedAt.toISOString(), sender };
}
