/** Every target, by name, in the order the report lists them. */
import { floor, socketio, textbook } from './baselines.js';
import { roomcastMemory, roomcastRedis, roomcastRedisPerSubscriber } from './roomcast.js';
import type { Target, TargetName } from './target.js';

export const targets: Record<TargetName, Target> = {
  'roomcast-memory': roomcastMemory,
  'roomcast-redis': roomcastRedis,
  'roomcast-redis-per-subscriber': roomcastRedisPerSubscriber,
  floor,
  textbook,
  socketio,
};
