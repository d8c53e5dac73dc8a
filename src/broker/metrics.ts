/**
 * What the broker and its backends report, without knowing about Prometheus: metrics/ implements it
 * (the broker declares what it reports, so it depends on nothing above it).
 */
export interface BrokerMetrics {
  /** A message reached this replica for delivery: publish-to-delivery latency, once per message. */
  delivering(publishedAt: number): void;
  /** A HistoryGap was queued for a subscriber. */
  historyGap(): void;
  /** A room's head went back (Redis lost acknowledged messages) and its epoch was ended. */
  historyRollback(): void;
  /** Times a Redis command (`publish`: the publish script; `read`: the history read script). */
  redisCommand<T>(command: 'publish' | 'read', work: Promise<T>): Promise<T>;
  /** An ioredis connection of the server started reconnecting. */
  redisReconnect(connection: 'publisher' | 'subscriber'): void;
  /** Counts and times one publish mutation (graphql/resolvers/mutation.ts, through the broker). */
  observePublish<T>(work: () => Promise<T>): Promise<T>;
}
