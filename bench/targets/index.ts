/** Every target, by name, in the order the report lists them. */
import { floor, socketio, textbook } from './baselines.js';
import { roomcastMemory, roomcastRedis, roomcastRedisBarePublish, roomcastRedisPerSubscriber } from './roomcast.js';
import type { Target, TargetName } from './target.js';

export const targets: Record<TargetName, Target> = {
  'roomcast-memory': roomcastMemory,
  'roomcast-redis': roomcastRedis,
  'roomcast-redis-per-subscriber': roomcastRedisPerSubscriber,
  'roomcast-redis-bare-publish': roomcastRedisBarePublish,
  floor,
  textbook,
  socketio,
};
