/**
 * One subscribed client connection, whatever the protocol: the worker opens it on a room and hears
 * back through a sink. Opening resolves once the subscription (or join) has been sent; whether the
 * server has set it up yet is learnt from the first message (harness/barrier.ts), the one thing all
 * three protocols can tell.
 */
import type { Stamp } from '../stamp.js';

interface Sink {
  /** A frame carrying published data arrived. */
  deliver(stamp: Stamp): void;
  /** Something arrived that is neither a delivery nor protocol housekeeping (an error, a complete). */
  anomaly(what: string): void;
  /** The server closed the connection, or it broke. */
  closed(reason: string): void;
}

export interface ClientConnection {
  /** Closes without telling the sink. */
  close(): void;
}

export type Connect = (url: string, room: string, sink: Sink) => Promise<ClientConnection>;

/** Which client the target speaks; see the files of this folder. */
export type ClientProtocol = 'graphql-ws' | 'raw-ws' | 'socketio';
