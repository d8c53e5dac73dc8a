/**
 * Frames written to one socket within one tick, sent with one system call. A burst of messages (a
 * Redis read often carries several) reaches every socket of a room as several frames in the same
 * tick; written one by one, each would cost a write(2) per socket, which is most of what a delivery
 * costs. The first frame of a tick goes out at once, so a lone message costs what it always did; a
 * socket's later frames of the same tick are corked, and leave together (one writev) when the tick
 * ends. Order is kept: a corked socket buffers everything written to it, ws's own frames included.
 */
import type { Duplex } from 'node:stream';

/** Sockets written to in this tick: true once corked. */
const written = new Map<Duplex, boolean>();

export function writeInTick(socket: Duplex, bytes: Buffer): void {
  const corked = written.get(socket);
  if (corked === undefined) {
    if (written.size === 0) process.nextTick(flush);
    written.set(socket, false);
  } else if (!corked) {
    socket.cork();
    written.set(socket, true);
  }
  socket.write(bytes);
}

/**
 * Runs when the tick's synchronous work and its microtasks are done (nextTick queued from within a
 * microtask runs after the microtask queue drains), so deliveries that hop through promises batch too.
 */
function flush(): void {
  for (const [socket, corked] of written) if (corked) socket.uncork();
  written.clear();
}
