/**
 * The Redis names of the inspector, from the key prefix, all with the hash tag `{inspector}`, so that on
 * a Redis Cluster they share one slot and the report script and MGET touch one shard:
 *
 * - `{inspector}:replicas`: sorted set, replica instance -> when it last reported (Redis time, ms): the
 *   index of the reports, so that reading them needs no KEYS or SCAN;
 * - `{inspector}:replica:<instance>`: string, its latest report (JSON), expiring 3 intervals after it
 *   was written: a replica that stops reporting is gone then, whatever the index still says.
 */
export interface InspectorKeys {
  readonly replicas: string;
  report(instance: string): string;
}

export function inspectorKeys(prefix: string): InspectorKeys {
  return {
    replicas: `${prefix}{inspector}:replicas`,
    report: (instance) => `${prefix}{inspector}:replica:${instance}`,
  };
}
