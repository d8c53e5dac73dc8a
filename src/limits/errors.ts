/**
 * The refusals of limits/, as RoomcastErrors: RATE_LIMITED says when to retry (`extensions.retryAfterMs`,
 * and over HTTP a 429 with `Retry-After` in whole seconds); RESPONSE_TOO_LARGE (413) names the budget.
 */
import { ErrorCode, RoomcastError } from '../errors.js';

export function rateLimited(what: string, retryAfterMs: number): RoomcastError {
  const ms = Math.max(0, Math.ceil(retryAfterMs));
  return new RoomcastError(ErrorCode.RATE_LIMITED, `rate limited: ${what}; retry in ${ms} ms`, {
    extensions: { retryAfterMs: ms },
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))) },
  });
}

export function responseTooLarge(bytes: number, maxBytes: number): RoomcastError {
  return new RoomcastError(
    ErrorCode.RESPONSE_TOO_LARGE,
    `the history this operation reads is over ${maxBytes} bytes (MAX_RESPONSE_BYTES; ${bytes} bytes so far): ask for fewer messages (limit, after) or fewer history fields`,
  );
}
