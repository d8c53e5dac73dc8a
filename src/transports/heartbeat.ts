/**
 * One heartbeat for every WebSocket of a replica: each socket is pinged once per interval, and a socket
 * that has not answered its previous ping by then is cut off (a dead peer goes within one to two
 * intervals).
 *
 * Pings go out in rounds: every interval, the sockets open at that moment are pinged in batches a
 * tick apart. A batch is small enough not to hold up deliveries (a ping is a write: ~25 µs here, so a
 * batch of 64 stays under ~2 ms), and between rounds nothing wakes the process: a server with 500
 * sockets wakes 8 times per interval for it, and an idle one once (a fixed tick woke it 10 times a
 * second, sockets or not).
 */
import type { WebSocket } from 'ws';

/** Sockets pinged at once, at most; more when a round could not end within half the interval otherwise. */
const BATCH = 64;
const TICK_MS = 100;

export class Heartbeat {
  private readonly sockets = new Set<WebSocket>();
  private readonly answered = new WeakSet<WebSocket>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** `intervalMs` 0: no heartbeat. */
  constructor(private readonly intervalMs: number) {
    if (intervalMs > 0) this.schedule(() => this.round(), intervalMs);
  }

  add(socket: WebSocket): void {
    if (this.intervalMs <= 0) return;
    this.sockets.add(socket);
    this.answered.add(socket);
    socket.on('pong', () => this.answered.add(socket));
  }

  delete(socket: WebSocket): void {
    this.sockets.delete(socket);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private round(): void {
    const started = Date.now();
    const due = [...this.sockets];
    const batch = Math.max(BATCH, Math.ceil((due.length * TICK_MS) / (this.intervalMs / 2)));
    let next = 0;
    const step = () => {
      for (const end = Math.min(next + batch, due.length); next < end; next++) this.visit(due[next]!);
      if (next < due.length) this.schedule(step, TICK_MS);
      else this.schedule(() => this.round(), Math.max(0, started + this.intervalMs - Date.now()));
    };
    step();
  }

  private visit(socket: WebSocket): void {
    if (!this.sockets.has(socket)) return; // closed since the round began
    if (!this.answered.has(socket)) {
      socket.terminate();
      return;
    }
    this.answered.delete(socket);
    socket.ping();
  }

  private schedule(run: () => void, delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(run, delayMs);
    this.timer.unref();
  }
}
