/** `roomcast history <room> [--after <cursor>] [--limit <n>]`: the room's held messages, one JSON line each, oldest first. */
import { CONNECTION_OPTIONS, HELP_OPTION, integerFlag, parse, positionals } from './args.js';
import { endpoint } from './endpoint.js';
import { requestGraphQL } from './graphql-http.js';
import { HISTORY } from './operations.js';
import { printLine } from './output.js';
import { HISTORY_USAGE } from './usage.js';

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...HELP_OPTION,
  after: { type: 'string' },
  limit: { type: 'string' },
} as const;

export async function history(args: readonly string[]): Promise<void> {
  const parsed = parse(args, OPTIONS, HISTORY_USAGE);
  if (parsed.values.help) return void process.stdout.write(HISTORY_USAGE);
  const [room] = positionals(parsed, ['<room>'], HISTORY_USAGE) as [string];
  // The range (1-1000) is the server's to check: it answers BAD_USER_INPUT, as to any client.
  const limit = integerFlag('limit', parsed.values.limit, HISTORY_USAGE, 1, 1000);
  const target = endpoint(parsed.values, HISTORY_USAGE);
  const { history: messages } = await requestGraphQL<{ history: unknown[] }>(target, HISTORY, { room, after: parsed.values.after, limit });
  for (const message of messages) printLine(message);
}
