/**
 * What every resolver receives, on every transport (HTTP, SSE and WebSocket share one pipeline).
 */
import type { Broker } from '../broker/broker.js';

export interface GraphQLContext {
  readonly broker: Broker;
  /** Largest `data` accepted by publish and broadcast, in bytes of serialized JSON. */
  readonly maxPayloadBytes: number;
}
