/**
 * What every resolver receives, on every transport (HTTP, SSE and WebSocket share one pipeline).
 */
import type { Identity } from '../auth/authenticator.js';
import type { AuthServices } from '../auth/services.js';
import type { ConnectionSession } from '../auth/sessions.js';
import type { Broker } from '../broker/broker.js';
import type { DeliveryBudget } from '../broker/budget.js';
import type { OperationLimits } from '../limits/index.js';
import type { RoomDirectory } from '../inspector/directory.js';
import type { Logger } from '../log.js';
import type { Presence } from '../presence/index.js';
import type { RoomQuota } from '../limits/room-quota.js';

export interface GraphQLContext {
  readonly broker: Broker;
  /** Who is in which room, on every replica (presence/). */
  readonly presence: Presence;
  /** Who is asking (auth/): resolvers authorize every room operation against it. */
  readonly identity: Identity;
  /**
   * The session of the WebSocket connection running the operation (its expiry and revocation close
   * the connection; `authenticate` replaces its identity); undefined over HTTP and SSE.
   */
  readonly connection: ConnectionSession | undefined;
  readonly auth: AuthServices;
  /** The operation's logger: its HTTP request's id or its WebSocket connection's, and its user. */
  readonly log: Logger;
  /** Largest `data` accepted by publish and broadcast, in bytes of serialized JSON. */
  readonly maxPayloadBytes: number;
  /**
   * Where a resubscribing client left off, from its transport (see resume.ts): subscriptions
   * continue after it instead of after their `after` argument.
   */
  readonly resumeAfter?: string;
  /** Shared by the subscriptions of one WebSocket connection (set by the transport). */
  readonly budget?: DeliveryBudget;
  /** The rooms of one WebSocket connection's subscriptions, within MAX_ROOMS_PER_CONNECTION (set by the transport). */
  readonly roomQuota?: RoomQuota;
  /** Most rooms one `messagesIn` may list (MAX_ROOMS_PER_SUBSCRIPTION). */
  readonly maxRoomsPerSubscription: number;
  /**
   * The client's address, derived once per request or WebSocket connection from the socket, or from
   * X-Forwarded-For as TRUST_PROXY allows (limits/client-ip.ts).
   */
  readonly clientIp: string;
  /**
   * The caller's party key (rooms/party.ts): (identity's sub, client id) for a WebSocket connection
   * (its connectionParams.clientId, or a random one) and for HTTP with X-Roomcast-Client-Id; undefined
   * over HTTP without it. `excludeSelf` stores it with the message; subscriptions skip messages carrying theirs.
   */
  readonly party: string | undefined;
  /** This operation's limits: the publish rate and its history byte budget (limits/), made per operation. */
  readonly limits: OperationLimits;
  /** The rooms of every replica, for the inspector's queries; undefined with INSPECTOR=off. */
  readonly inspector?: RoomDirectory | undefined;
}
