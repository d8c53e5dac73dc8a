/**
 * Command-line parsing on node:util's parseArgs: every command declares its flags, and anything
 * else (an unknown flag, a missing value, too many or too few arguments) is a usage error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './failure.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `--url` and `--token`, for every command that talks to a server. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
} as const satisfies Options;

export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const satisfies Options;

export interface Parsed<O extends Options> {
  readonly values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };
  readonly positionals: string[];
}

/** Parses `args` against `options`; a usage error (with `usage`) for anything they do not allow. */
export function parse<O extends Options>(args: readonly string[], options: O, usage: string): Parsed<O> {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    return { values, positionals };
  } catch (error) {
    // parseArgs's messages name the flag and say what is wrong with it; its hints about '--' are kept.
    throw usageError(error instanceof Error ? error.message : String(error), usage);
  }
}

/** The positional arguments, exactly `names.length` of them (the optional ones may be missing). */
export function positionals(parsed: Parsed<Options>, names: readonly string[], usage: string, optional = 0): string[] {
  const given = parsed.positionals;
  if (given.length > names.length) throw usageError(`unexpected argument ${JSON.stringify(given[names.length])}`, usage);
  if (given.length < names.length - optional) throw usageError(`missing ${names.slice(given.length).join(', ')}`, usage);
  return given;
}

/** A whole number from `min` to `max`, for a flag like `--limit`. */
export function integerFlag(
  name: string,
  raw: string | undefined,
  usage: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw usageError(`--${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`, usage);
  }
  return Number(raw);
}
