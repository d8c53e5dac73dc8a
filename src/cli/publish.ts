/**
 * `roomcast publish <room> <event> <json>`: publishes one message and prints it as stored (seq,
 * cursor, publishedAt, ...). Over HTTP through the `publish` mutation (`broadcast` for room `*`), or
 * with `--redis` straight into the replicas' Redis through roomcast/publisher, as a backend worker
 * does.
 */
import { readFileSync } from 'node:fs';
import { CONNECTION_OPTIONS, HELP_OPTION, parse, positionals } from './args.js';
import { endpoint } from './endpoint.js';
import { usageError } from './failure.js';
import { requestGraphQL } from './graphql-http.js';
import { BROADCAST, BROADCAST_ROOM, PUBLISH } from './operations.js';
import { printLine } from './output.js';
import { publishThroughRedis } from './publish-redis.js';
import { PUBLISH_USAGE } from './usage.js';

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...HELP_OPTION,
  'idempotency-key': { type: 'string' },
  redis: { type: 'string' },
  'redis-cluster-nodes': { type: 'string' },
  'redis-sentinels': { type: 'string' },
  'redis-sentinel-master': { type: 'string' },
  sender: { type: 'string' },
} as const;

export async function publish(args: readonly string[]): Promise<void> {
  const parsed = parse(args, OPTIONS, PUBLISH_USAGE);
  if (parsed.values.help) return void process.stdout.write(PUBLISH_USAGE);
  const [room, event, json] = positionals(parsed, ['<room>', '<event>', '<json>'], PUBLISH_USAGE) as [string, string, string];
  const data = parseData(json);
  const { redis, sender, url, token } = parsed.values;
  const idempotencyKey = parsed.values['idempotency-key'];
  const place = {
    url: redis,
    clusterNodes: parsed.values['redis-cluster-nodes'],
    sentinels: parsed.values['redis-sentinels'],
    sentinelMaster: parsed.values['redis-sentinel-master'],
  };
  const given = (['redis', 'redis-cluster-nodes', 'redis-sentinels', 'redis-sentinel-master'] as const).find(
    (option) => parsed.values[option] !== undefined,
  );
  if (given !== undefined) {
    if (url !== undefined || token !== undefined)
      throw usageError(`--${given} publishes without a server: leave out --url and --token`, PUBLISH_USAGE);
    return printLine(await publishThroughRedis(place, { room, event, data, idempotencyKey, sender }));
  }
  if (sender !== undefined) throw usageError("--sender needs --redis (over HTTP the sender is the token's sub)", PUBLISH_USAGE);
  const target = endpoint(parsed.values, PUBLISH_USAGE);
  const broadcast = room === BROADCAST_ROOM;
  const variables = { ...(broadcast ? {} : { room }), event, data, idempotencyKey };
  const { message } = await requestGraphQL<{ message: unknown }>(target, broadcast ? BROADCAST : PUBLISH, variables);
  printLine(message);
}

/** The message's data: a JSON value, or `-` to read it from stdin (for data a shell would mangle). */
function parseData(json: string): unknown {
  const text = json === '-' ? readFileSync(0, 'utf8') : json;
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw usageError(`<json> must be a JSON value, e.g. '{"text":"hi"}' or '"hi"' (${reason})`, PUBLISH_USAGE);
  }
}
