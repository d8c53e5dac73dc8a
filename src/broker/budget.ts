/**
 * A delivery budget bounds the bytes waiting to reach one client: queued in its subscriptions and,
 * for a WebSocket, buffered in the socket. A client that stops reading exhausts it and is cut off
 * (it resumes later from its cursor) instead of growing the server's memory or slowing others.
 */
export interface DeliveryBudget {
  /** Accounts for `bytes` more waiting; false when that exceeds the budget (the client is too slow). */
  take(bytes: number): boolean;
  /** `bytes` left the queue (written, or dropped). */
  give(bytes: number): void;
}

/**
 * A budget of `limit` bytes; `alsoBuffered` adds bytes held elsewhere (a socket's buffer), and
 * `onExceeded` runs once, the first time the budget is exceeded.
 */
export function createByteBudget(limit: number, alsoBuffered: () => number = () => 0, onExceeded: () => void = () => {}): DeliveryBudget {
  let queued = 0;
  let exceeded = false;
  return {
    take(bytes) {
      queued += bytes;
      if (queued + alsoBuffered() <= limit) return true;
      if (!exceeded) {
        exceeded = true;
        onExceeded();
      }
      return false;
    },
    give(bytes) {
      queued -= bytes;
    },
  };
}
