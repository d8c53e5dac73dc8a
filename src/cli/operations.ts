/**
 * The GraphQL operations the CLI sends. Every command prints the same shape for a message (the
 * fields of `Message`, with `__typename`), so the lines of `history`, `tail` and `publish` can be
 * read by one program.
 */
const MESSAGE_FIELDS = '__typename room seq event data cursor publishedAt sender';
const EVENT_FIELDS = `__typename ... on Message { ${MESSAGE_FIELDS} } ... on HistoryGap { room after missed }`;

/** The broadcast stream's room id: `publish`, `history` and `tail` take it for `broadcast`, `history(room: "*")` and `broadcasts`. */
export const BROADCAST_ROOM = '*';

export const PUBLISH = `mutation RoomcastCliPublish($room: ID!, $event: String!, $data: JSON!, $idempotencyKey: String) {
  message: publish(room: $room, event: $event, data: $data, idempotencyKey: $idempotencyKey) { ${MESSAGE_FIELDS} }
}`;

export const BROADCAST = `mutation RoomcastCliBroadcast($event: String!, $data: JSON!, $idempotencyKey: String) {
  message: broadcast(event: $event, data: $data, idempotencyKey: $idempotencyKey) { ${MESSAGE_FIELDS} }
}`;

export const HISTORY = `query RoomcastCliHistory($room: ID!, $after: String, $limit: Int) {
  history(room: $room, after: $after, limit: $limit) { ${MESSAGE_FIELDS} }
}`;

export const TAIL = `subscription RoomcastCliTail($room: ID!, $after: String) {
  event: messages(room: $room, after: $after) { ${EVENT_FIELDS} }
}`;

export const TAIL_BROADCASTS = `subscription RoomcastCliTailBroadcasts($after: String) {
  event: broadcasts(after: $after) { ${EVENT_FIELDS} }
}`;
