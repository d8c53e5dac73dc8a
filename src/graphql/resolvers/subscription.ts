import type { SubscriptionResolvers } from '../../generated/resolvers.js';
import type { EventQueue, SubscriptionEvent } from '../../broker/event-queue.js';
import { authorize, capabilityKey } from '../../auth/guard.js';
import { streamSession } from '../../auth/sessions.js';
import { at } from '../../deadline.js';
import { badUserInput, ErrorCode, RoomcastError } from '../../errors.js';
import { parseCursor } from '../../rooms/cursor.js';
import type { RoomEvent } from '../../rooms/message.js';
import { BROADCAST_ROOM, parseRoomId } from '../../rooms/names.js';
import { parseRoomList } from '../../rooms/room-list.js';
import type { GraphQLContext } from '../context.js';
import { enterPresence } from '../../presence/index.js';
import { noteDelivery } from '../resume.js';

async function subscribeRoom(
  room: string,
  after: string | null | undefined,
  throttleMs: number | null | undefined,
  context: GraphQLContext,
) {
  const { broker, resumeAfter, budget, identity, party } = context;
  const key = capabilityKey(room);
  await authorize(identity, key, 'subscribe');
  const ms = parseThrottleMs(throttleMs);
  const from = resumeAfter ?? after;
  const release = context.roomQuota?.reserve(1);
  const subscription = await released(release, broker.subscribe(room, from == null ? undefined : parseCursor(from, room), budget, party));
  watch(subscription, [key], context, release);
  enterPresence(context, room, subscription);
  return ms === undefined ? subscription : broker.throttle(subscription, room, ms);
}

async function subscribeRooms(
  rooms: readonly string[],
  after: readonly string[] | null | undefined,
  throttleMs: number | null | undefined,
  context: GraphQLContext,
) {
  const { broker, resumeAfter, budget, identity, party } = context;
  // A resuming client's position wins over `after`, the place it first started from.
  const list = parseRoomList(rooms, resumeAfter === undefined ? after : [resumeAfter], context.maxRoomsPerSubscription);
  const keys = list.map(({ room }) => capabilityKey(room));
  await Promise.all(keys.map((key) => authorize(identity, key, 'subscribe')));
  const ms = parseThrottleMs(throttleMs);
  const release = context.roomQuota?.reserve(list.length);
  const subscription = await released(release, broker.subscribeRooms(list, budget, party));
  watch(subscription, keys, context, release);
  for (const { room } of list) enterPresence(context, room, subscription);
  const stream = ms === undefined ? subscription : broker.throttle(subscription, `in\u0000${rooms.join(',')}`, ms, subscription.start);
  roomSets.set(context, stream);
  return stream;
}

const MIN_THROTTLE_MS = 10;
const MAX_THROTTLE_MS = 60_000;

/** `throttleMs`: undefined for every message (absent or 0), else 10 to 60000. */
function parseThrottleMs(value: number | null | undefined): number | undefined {
  if (value == null || value === 0) return undefined;
  if (!Number.isInteger(value) || value < MIN_THROTTLE_MS || value > MAX_THROTTLE_MS) {
    throw badUserInput(`throttleMs must be 0 (every message) or from ${MIN_THROTTLE_MS} to ${MAX_THROTTLE_MS} (got ${value})`);
  }
  return value;
}

/** Gives the reserved rooms back if subscribing fails. */
async function released<T>(release: (() => void) | undefined, subscribing: Promise<T>): Promise<T> {
  try {
    return await subscribing;
  } catch (error) {
    release?.();
    throw error;
  }
}

/** Ends the subscription when its identity no longer allows all of `keys`; frees its rooms when it closes. */
function watch(
  subscription: EventQueue,
  keys: readonly string[],
  { identity, connection, auth }: GraphQLContext,
  release: (() => void) | undefined,
): void {
  if (release) subscription.onClose(release);
  if (connection) {
    // Its connection ends it if a new token no longer allows it; expiry and revocation close the connection.
    connection.track(subscription, keys);
    return;
  }
  // An event stream ends by itself: at its token's expiry, or when its user is revoked.
  if (identity.validUntil !== undefined) {
    subscription.onClose(at(identity.validUntil, () => subscription.fail(new RoomcastError(ErrorCode.UNAUTHENTICATED, 'token expired'))));
  }
  subscription.onClose(auth.sessions.add(streamSession(identity, subscription)));
}

/** The subscription to several rooms an operation runs, by its context: its results carry its position. */
const roomSets = new WeakMap<GraphQLContext, EventQueue>();

/** A subscription that cannot go on ends with its reason as a GraphQL error, then completes. */
function resolveEvent(event: SubscriptionEvent, _args: unknown, context: GraphQLContext): RoomEvent {
  if (event instanceof RoomcastError) throw event;
  noteDelivery(context, event, roomSets.get(context)?.positionAfter(event));
  return event;
}

export const Subscription: SubscriptionResolvers = {
  messages: {
    subscribe: (_root, args, context) => subscribeRoom(parseRoomId(args.room), args.after, args.throttleMs, context),
    resolve: resolveEvent,
  },
  messagesIn: {
    subscribe: (_root, args, context) => subscribeRooms(args.rooms, args.after, args.throttleMs, context),
    resolve: resolveEvent,
  },
  broadcasts: {
    subscribe: (_root, args, context) => subscribeRoom(BROADCAST_ROOM, args.after, args.throttleMs, context),
    resolve: resolveEvent,
  },
};
