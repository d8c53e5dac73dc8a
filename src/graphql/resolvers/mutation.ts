import type { MutationResolvers } from '../../generated/resolvers.js';
import { badUserInput, ErrorCode, RoomcastError } from '../../errors.js';
import { BROADCAST_ROOM, parseEventName, parseRoomId } from '../../rooms/names.js';

/** Serializes `data` once, for the size limit and for the broker, which stores it as it is. */
function serializeData(data: unknown, maxBytes: number): string {
  let json: string;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    // Thousands of levels of nesting overflow JSON.stringify's stack.
    if (error instanceof RangeError) throw badUserInput('data is nested too deeply to be stored');
    throw error;
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) {
    throw new RoomcastError(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `data is ${bytes} bytes as JSON; the limit is ${maxBytes} (MAX_PAYLOAD_BYTES)`,
    );
  }
  return json;
}

export const Mutation: MutationResolvers = {
  publish: (_root, args, { broker, maxPayloadBytes }) => {
    const room = parseRoomId(args.room);
    const event = parseEventName(args.event);
    return broker.publish(room, event, serializeData(args.data, maxPayloadBytes));
  },
  broadcast: (_root, args, { broker, maxPayloadBytes }) => {
    const event = parseEventName(args.event);
    return broker.publish(BROADCAST_ROOM, event, serializeData(args.data, maxPayloadBytes));
  },
};
