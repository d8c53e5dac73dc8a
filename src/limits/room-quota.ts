/**
 * MAX_ROOMS_PER_CONNECTION: how many rooms the operations of one WebSocket connection may listen to
 * at once (a `messages` or `broadcasts` operation counts one, `messagesIn` one per room). Reserved
 * before the rooms are subscribed, so operations started together cannot overshoot it.
 */
import { ErrorCode, RoomcastError } from '../errors.js';

export class RoomQuota {
  private used = 0;

  constructor(private readonly limit: number) {}

  /** Takes `count` rooms until the returned function is called; TOO_MANY_SUBSCRIPTIONS past the limit. */
  reserve(count: number): () => void {
    if (this.used + count > this.limit) {
      throw new RoomcastError(
        ErrorCode.TOO_MANY_SUBSCRIPTIONS,
        `a connection may listen to at most ${this.limit} rooms at once, a room counting once per operation (MAX_ROOMS_PER_CONNECTION); its operations hold ${this.used}, and this one asks for ${count} more`,
      );
    }
    this.used += count;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= count;
    };
  }
}
