/**
 * `roomcast/publisher`: publish to Roomcast rooms from any backend process, straight through the
 * Redis the replicas use (no HTTP, no server in the process). docs/redis-protocol.md has what it
 * does in Redis, for backends in other languages.
 */
export { createPublisher, type Publisher, type PublishOptions, type PublishedMessage } from './publisher.js';
export type { PublisherOptions } from './options.js';
export { PROTOCOL_VERSION } from '../broker/redis-publish.js';
export { ErrorCode, isRoomcastError, RoomcastError } from '../errors.js';
