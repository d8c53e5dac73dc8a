/** Every target, by name, in the order the report lists them. */
import { floor, socketio, textbook } from './baselines.js';
import { roomcastPublisher } from './publisher.js';
import { roomcastMemory, roomcastRedis, roomcastRedisBarePublish, roomcastRedisPerSubscriber } from './roomcast.js';
import type { Target, TargetName } from './target.js';

export const targets: Record<TargetName, Target> = {
  'roomcast-memory': roomcastMemory,
  'roomcast-redis': roomcastRedis,
  'roomcast-redis-per-subscriber': roomcastRedisPerSubscriber,
  'roomcast-redis-bare-publish': roomcastRedisBarePublish,
  'roomcast-publisher': roomcastPublisher,
  floor,
  textbook,
  socketio,
};
