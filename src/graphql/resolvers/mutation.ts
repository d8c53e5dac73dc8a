import type { MutationResolvers } from '../../generated/resolvers.js';
import { ErrorCode, RoomcastError } from '../../errors.js';
import { BROADCAST_ROOM, parseEventName, parseRoomId } from '../../rooms/names.js';

/** Serializes `data` once, for the size limit and for the broker, which stores it as it is. */
function serializeData(data: unknown, maxBytes: number): string {
  const json = JSON.stringify(data);
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
