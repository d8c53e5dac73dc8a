/**
 * What every resolver receives, on every transport (HTTP, SSE and WebSocket share one pipeline).
 */
import type { Broker } from '../broker/broker.js';
import type { DeliveryBudget } from '../broker/budget.js';

export interface GraphQLContext {
  readonly broker: Broker;
  /** Largest `data` accepted by publish and broadcast, in bytes of serialized JSON. */
  readonly maxPayloadBytes: number;
  /**
   * Where a resubscribing client left off, from its transport (see resume.ts): subscriptions
   * continue after it instead of after their `after` argument.
   */
  readonly resumeAfter?: string;
  /** Shared by the subscriptions of one WebSocket connection (set by the transport). */
  readonly budget?: DeliveryBudget;
}
