/** `roomcast serve`: the server, exactly as `npm start` runs it, configured by the environment. */
import { runServer } from '../main.js';
import { HELP_OPTION, parse, positionals } from './args.js';
import { SERVE_USAGE } from './usage.js';

/** Resolves once the server listens; the process then runs until SIGTERM or SIGINT. */
export async function serve(args: readonly string[]): Promise<void> {
  const parsed = parse(args, HELP_OPTION, SERVE_USAGE);
  if (parsed.values.help) return void process.stdout.write(SERVE_USAGE);
  positionals(parsed, [], SERVE_USAGE);
  await runServer();
}
