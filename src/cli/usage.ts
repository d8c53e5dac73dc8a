/** What `roomcast --help` and `roomcast <command> --help` print (docs/cli.md says more). */

const CONNECTION = `  --url <url>      the server's endpoint, http(s):// or ws(s):// (default: $ROOMCAST_URL,
                   else http://localhost:4000/graphql)
  --token <jwt>    a token for a server with auth on (default: $ROOMCAST_TOKEN)
  -h, --help       this help
`;

const EXIT = `Exit codes: 0 done, 1 the server refused or failed ("roomcast: <CODE>: <message>" on stderr),
2 usage error, 3 the server could not be reached.
`;

export const MAIN_USAGE = `Usage: roomcast <command> [options]

Commands:
  serve                                   run the server (what npm start runs), configured by the environment
  publish <room> <event> <json>           publish one message; prints it as stored (seq, cursor, ...)
  tail <room> [--after <cursor>]          print the room's messages as they come, one JSON line each
  history <room> [--after <c>] [--limit <n>]  print the messages the room holds, one JSON line each

Room "*" is the broadcast stream (broadcast, broadcasts). Every command takes --url, --token and --help
(serve only --help). roomcast <command> --help for its options. roomcast --version for the version.

${EXIT}`;

export const SERVE_USAGE = `Usage: roomcast serve

Runs the Roomcast server, as npm start does. Configured by the environment (PORT, REDIS_URL, AUTH_*, ...:
README.md, Configuration). Stops gracefully on SIGTERM or SIGINT, exit 0.

  -h, --help       this help
`;

export const PUBLISH_USAGE = `Usage: roomcast publish <room> <event> <json> [options]

Publishes <json> (any JSON value but null; "-" reads it from stdin) to <room> as <event>, and prints
the stored message as one JSON line: room, seq, event, data, cursor, publishedAt, sender.
Room "*" broadcasts.

  --idempotency-key <key>  name the message: a repeat with the same key within IDEMPOTENCY_TTL_SECONDS
                   returns the message stored first and publishes nothing (retry with it)
  --redis <url>    publish straight into the replicas' Redis through roomcast/publisher, without a
                   server (no --url, --token); REDIS_KEY_PREFIX, HISTORY_SIZE, HISTORY_TTL_SECONDS,
                   IDEMPOTENCY_TTL_SECONDS, MAX_PAYLOAD_BYTES, BROKER_TIMEOUT_MS, REDIS_WAIT_REPLICAS,
                   REDIS_USERNAME and REDIS_PASSWORD are read from the environment, as a replica reads them
  --redis-cluster-nodes <host:port,...>
                   instead of --redis: the replicas' REDIS_CLUSTER_NODES
  --redis-sentinels <host:port,...>  --redis-sentinel-master <name>
                   instead of --redis: the replicas' REDIS_SENTINELS and REDIS_SENTINEL_MASTER
  --sender <id>    with --redis, --redis-cluster-nodes or --redis-sentinels: Message.sender to record
${CONNECTION}
${EXIT}`;

export const TAIL_USAGE = `Usage: roomcast tail <room> [options]

Prints the room's messages as they are published, one JSON line each (a Message, or a HistoryGap when
messages could not be replayed), until interrupted (SIGINT, SIGTERM: exit 0). Reconnects by itself
forever, 125 ms to 10 s apart, and resumes right after the last message printed; notes on stderr say
when the connection is lost and back. Room "*" tails the broadcasts.

  --after <cursor> start right after this message (a cursor printed by publish, history or tail):
                   what the room still holds after it comes first
${CONNECTION}
${EXIT}`;

export const HISTORY_USAGE = `Usage: roomcast history <room> [options]

Prints the messages the room holds, oldest first, one JSON line each.

  --after <cursor> only the messages after this one
  --limit <n>      at most n (1-1000; default 50)
${CONNECTION}
${EXIT}`;
