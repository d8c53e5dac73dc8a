/**
 * Answers a WebSocket upgrade refused before any WebSocket exists, on the raw socket. That socket then
 * belongs to no one, so this handles its errors (a client that resets it must not become an uncaught
 * exception that ends the process) and destroys it once the answer is sent (a client that never
 * closes must not hold it open), as ws does when it aborts a handshake. What the client does to a
 * refused socket tells the operator nothing: its errors are dropped.
 */
import type { Duplex } from 'node:stream';

/** `status`: code and reason (`404 Not Found`); `headers`: further header lines, each ending in CRLF. */
export function refuseUpgrade(socket: Duplex, status: string, headers = ''): void {
  socket.on('error', () => {});
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${headers}\r\n`);
}
