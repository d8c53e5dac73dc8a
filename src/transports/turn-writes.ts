/**
 * Frames written to one socket within one turn of the event loop, sent with one system call. A burst
 * of messages (a Redis read often carries several, and a burst often spans several reads of one
 * turn) reaches every socket of a room as several frames; written one by one, each would cost a
 * write(2) per socket, which is most of what a delivery costs. The first frame of a turn goes out at
 * once, so a lone message costs what it always did; a socket's later frames of the same turn are
 * corked, and leave together (one writev) once the turn's I/O callbacks have run (setImmediate: the
 * loop's check phase, right after them). Order is kept: a corked socket buffers everything written
 * to it, ws's own frames included.
 */
import type { Duplex } from 'node:stream';

/** Sockets written to in this turn: true once corked. */
const written = new Map<Duplex, boolean>();

export function writeInTurn(socket: Duplex, bytes: Buffer): void {
  const corked = written.get(socket);
  if (corked === undefined) {
    if (written.size === 0) setImmediate(flush);
    written.set(socket, false);
  } else if (!corked) {
    socket.cork();
    written.set(socket, true);
  }
  socket.write(bytes);
}

/** A pending immediate keeps the loop from waiting in its poll phase: corked frames never wait for I/O. */
function flush(): void {
  for (const [socket, corked] of written) if (corked) socket.uncork();
  written.clear();
}
