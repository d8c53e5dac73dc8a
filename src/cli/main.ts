#!/usr/bin/env node
/**
 * The `roomcast` command: serve, publish, tail, history (docs/cli.md). One module per command; this
 * one picks the command and turns its outcome into an exit code.
 */
import { readFileSync } from 'node:fs';
import { report, usageError, ExitCode } from './failure.js';
import { flushed } from './output.js';
import { MAIN_USAGE } from './usage.js';

interface Command {
  run(args: readonly string[]): Promise<void>;
  /** The process lives on after `run` resolves (the server). */
  readonly keepsRunning?: boolean;
}

// Each command's module is loaded only when it runs: a publish need not load the whole server.
const COMMANDS: Record<string, Command> = {
  serve: { run: async (args) => (await import('./serve.js')).serve(args), keepsRunning: true },
  publish: { run: async (args) => (await import('./publish.js')).publish(args) },
  tail: { run: async (args) => (await import('./tail.js')).tail(args) },
  history: { run: async (args) => (await import('./history.js')).history(args) },
};

async function main(argv: readonly string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === '--help' || name === '-h' || name === 'help') return void process.stdout.write(MAIN_USAGE);
  if (name === '--version' || name === '-v') return void process.stdout.write(`${version()}\n`);
  const command = name === undefined ? undefined : Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) throw usageError(name === undefined ? 'no command given' : `unknown command ${JSON.stringify(name)}`, MAIN_USAGE);
  await command.run(args);
  if (command.keepsRunning) return;
  // Exits now rather than when the last handle closes: a client's reconnect timer, or an idle
  // keep-alive socket, would hold the process for seconds after the work is done.
  await flushed();
  process.exit(ExitCode.OK);
}

function version(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

main(process.argv.slice(2)).catch(async (error: unknown) => {
  const code = report(error);
  await flushed();
  process.exit(code);
});
