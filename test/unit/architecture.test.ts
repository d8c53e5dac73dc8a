/**
 * The layering the README describes, checked on the import statements of src/: data flows
 * rooms -> broker -> graphql -> transports -> server, with the services beside the broker (auth,
 * limits, metrics, presence, publisher, inspector, config) below the GraphQL layer. An import that
 * runs the other way fails here with the file and the import.
 *
 * And the browser's side: @roomcast/client, bundled for a browser, must not pull in `graphql`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

/** Rank of each part of src/ (its first path segment); an import may only go to a lower or equal rank. */
const RANKS: Record<string, number> = {
  'errors.ts': 0,
  'close-codes.ts': 0,
  'deadline.ts': 0,
  'log.ts': 0,
  rooms: 1,
  broker: 2,
  auth: 3,
  limits: 3,
  metrics: 3,
  presence: 3,
  publisher: 3,
  inspector: 3,
  'config.ts': 3,
  graphql: 4,
  generated: 4,
  transports: 5,
  'server.ts': 6,
  'main.ts': 6,
  'index.ts': 6,
  cli: 6,
  library: 6,
};

/** Base modules import nothing of the server; rooms/ only itself, the base and the client's protocol. */
const ALLOWED_PACKAGES: Record<string, RegExp> = {
  rooms: /^(node:|@roomcast\/client\/protocol$)/,
};

interface Import {
  readonly file: string;
  readonly specifier: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+'([^']+)'/gm), ...text.matchAll(/^\s*import\s+'([^']+)'/gm)];
  return specifiers.map((match) => ({ file, specifier: match[1]! }));
}

/** The part of src/ a file or an import target (`../broker/index.js`, written with .js) belongs to. */
const partOf = (file: string): string => relative(src, file).split('/')[0]!.replace(/\.js$/, '.ts');

function rankOf(part: string): number {
  const rank = RANKS[part];
  if (rank === undefined)
    throw new Error(`src/${part} has no place in the layering: add it to RANKS in ${relative(root, fileURLToPath(import.meta.url))}`);
  return rank;
}

const imports = sourceFiles(src).flatMap(importsOf);

describe('the layering of src/', () => {
  it('has every part of src/ placed', () => {
    for (const file of sourceFiles(src)) expect(() => rankOf(partOf(file))).not.toThrow();
  });

  it('imports only toward the lower layers (rooms -> broker -> the services beside it -> graphql -> transports -> server)', () => {
    const against = imports
      .filter(({ specifier }) => specifier.startsWith('.'))
      .filter(({ file, specifier }) => {
        const target = resolve(dirname(file), specifier);
        return target.startsWith(src) && rankOf(partOf(target)) > rankOf(partOf(file));
      })
      .map(({ file, specifier }) => `${relative(root, file)} imports ${specifier}`);
    expect(against).toEqual([]);
  });

  it('keeps rooms/ free of packages other than the client protocol and Node built-ins', () => {
    const foreign = imports
      .filter(({ file, specifier }) => partOf(file) === 'rooms' && !specifier.startsWith('.') && !ALLOWED_PACKAGES.rooms!.test(specifier))
      .map(({ file, specifier }) => `${relative(root, file)} imports ${specifier}`);
    expect(foreign).toEqual([]);
  });

  it('keeps rooms/, and every file of src/ it imports, free of graphql and graphql-ws', () => {
    const reached = new Set(sourceFiles(join(src, 'rooms')));
    for (const file of reached) {
      for (const { specifier } of importsOf(file)) {
        if (specifier.startsWith('.')) reached.add(resolve(dirname(file), specifier).replace(/\.js$/, '.ts'));
      }
    }
    expect(reached.has(join(src, 'errors.ts'))).toBe(true);
    const graphql = [...reached].flatMap(importsOf).filter(({ specifier }) => /^graphql(-ws)?(\/|$)/.test(specifier));
    expect(graphql.map(({ file, specifier }) => `${relative(root, file)} imports ${specifier}`)).toEqual([]);
  });

  it('has the checker itself see imports (a file known to import the broker)', () => {
    expect(imports.some(({ file, specifier }) => relative(src, file) === 'server.ts' && specifier === './broker/index.js')).toBe(true);
  });
});

describe('@roomcast/client in a browser bundle', () => {
  it('does not pull in graphql', async () => {
    const result = await build({
      entryPoints: [join(root, 'packages/client/src/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.includes('node_modules/graphql-ws/'))).toBe(true);
    expect(inputs.filter((input) => /node_modules\/graphql\//.test(input))).toEqual([]);
  });
});
