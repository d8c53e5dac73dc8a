/**
 * The catalogue of errors a client can see: GraphQL `extensions.code` values with their HTTP status
 * (the WebSocket close codes are in close-codes.ts).
 *
 * Free of GraphQL, like everything rooms/ imports: a RoomcastError is a plain Error, which the GraphQL
 * layer gives the client as a GraphQL error with its code (graphql/errors.ts).
 */

export const ErrorCode = {
  /** A room id, event name, cursor or limit that does not meet its documented format. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** `data` is larger than `MAX_PAYLOAD_BYTES` once serialized. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The broker (Redis) could not be reached in time. A publish may still have been stored: retry with its idempotencyKey. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A subscriber read its events too slowly and fell too far behind; resume with the last cursor received. */
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  /** A WebSocket connection already runs MAX_SUBSCRIPTIONS_PER_CONNECTION operations. */
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  /** A POST body not sent as `content-type: application/json` (or sent without a content-type). */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** No valid token: a bad one, or none where anonymous clients may not do what was asked. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** A valid token whose capability does not allow what was asked. */
  FORBIDDEN: 'FORBIDDEN',
  /** Over PUBLISH_RATE_LIMIT, SUBSCRIBE_RATE_LIMIT or MAX_CONNECTIONS_PER_IP; `extensions.retryAfterMs` says when to retry. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The history one operation reads is over MAX_RESPONSE_BYTES. */
  RESPONSE_TOO_LARGE: 'RESPONSE_TOO_LARGE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const httpStatus: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNAVAILABLE: 503,
  SLOW_CONSUMER: 503,
  TOO_MANY_SUBSCRIPTIONS: 429,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  RESPONSE_TOO_LARGE: 413,
};

/** RFC 6750: a 401 names the scheme a client should authenticate with. */
const httpHeaders: Partial<Record<ErrorCode, Record<string, string>>> = {
  UNAUTHENTICATED: { 'WWW-Authenticate': 'Bearer realm="roomcast"' },
};

/**
 * An expected failure, with its message for the client and its GraphQL `extensions` (`code`, and
 * what else the client needs, such as `retryAfterMs`). A GraphQL error made from one (graphql-js does
 * it for a resolver's, graphql/errors.ts for the rest) carries these same extensions, and Yoga passes
 * it to the client unmasked and answers HTTP requests with its status.
 *
 * The status is in `extensions.http`, where Yoga reads it (and leaves it out of the body). It is not
 * enumerable, so that no other serialization carries it: WebSocket frames, written by graphql-ws or
 * by ws-delivery.ts, have no HTTP status to give.
 */
export class RoomcastError extends Error {
  override readonly name = 'RoomcastError';
  readonly code: ErrorCode;
  readonly extensions: Readonly<Record<string, unknown>>;
  // No cause: the cause of an expected failure is for the logs, not for the client.
  /** `extra`: more extensions for the client (`retryAfterMs`), more HTTP headers (`Retry-After`). */
  constructor(code: ErrorCode, message: string, extra: { extensions?: Record<string, unknown>; headers?: Record<string, string> } = {}) {
    super(message);
    const headers = extra.headers ? { ...httpHeaders[code], ...extra.headers } : httpHeaders[code];
    this.extensions = Object.defineProperty({ code, ...extra.extensions }, 'http', {
      value: { status: httpStatus[code], headers },
      enumerable: false,
    });
    this.code = code;
  }
}

export const badUserInput = (message: string): RoomcastError => new RoomcastError(ErrorCode.BAD_USER_INPUT, message);

export function isRoomcastError(error: unknown): error is RoomcastError {
  return error instanceof RoomcastError;
}
