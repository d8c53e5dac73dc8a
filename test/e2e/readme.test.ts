/**
 * The README's code blocks, used as a reader would use them. Every fenced block is claimed by one
 * check below, by its language, and a block that none claims fails the test, so no snippet can rot:
 * - `ts file=…` / `graphql file=…`: written into a fresh app (inside the repository, so the
 *   repository's node_modules serve its imports, and @roomcast/client is the built package), typed
 *   documents generated with the README's own codegen.ts, everything type-checked with its tsconfig.json, and
 *   each `src/*.ts` run against a real server (`localhost:4000` pointed at it) until it prints a
 *   message published meanwhile.
 * - `graphql` without a file: the API summary; its types, fields and arguments are the schema's.
 * - `sh`: `curl` blocks run against the server; `… npm start` lines start a server as written
 *   (ports and Redis pointed at the test's); every other command must be an npm command or script
 *   that exists.
 * - no language: the source layout; every path it names exists.
 * - `json`: token claims; their `roomcast` capability is one the server accepts.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  buildSchema,
  isObjectType,
  isUnionType,
  Kind,
  parse,
  type DocumentNode,
  type FieldDefinitionNode,
  type GraphQLField,
  type TypeNode,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCapability } from '../../src/auth/capability.js';
import { loadTypeDefs } from '../../src/graphql/schema.js';
import { postGraphQL } from '../helpers/clients.js';
import { freePort } from '../helpers/free-port.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { RedisSentinel, RedisServer } from '../helpers/redis-server.js';
import { waitFor, within } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const app = join(root, '.cache/readme-app');
const run = promisify(execFile);

interface Block {
  readonly lang: string;
  readonly file: string | undefined;
  readonly code: string;
  readonly line: number;
}

function readmeBlocks(): Block[] {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)(?:\s+file=(\S+))?\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!);
    blocks.push({ lang: open[1]!, file: open[2], code: body.join('\n') + '\n', line: start + 1 });
  }
  return blocks;
}

const blocks = readmeBlocks();
const claimed = new Set<Block>();
const claim = (filter: (block: Block) => boolean) => {
  const found = blocks.filter(filter);
  for (const block of found) claimed.add(block);
  return found;
};
const appFiles = claim((block) => block.file !== undefined);
const apiSummary = claim((block) => block.lang === 'graphql' && !block.file);
const shell = claim((block) => block.lang === 'sh');
const layouts = claim((block) => block.lang === '');
const tokens = claim((block) => block.lang === 'json' && !block.file);

let server: TestServer;
/** Points the README's address at the test server. */
const local = (text: string) => text.replaceAll('localhost:4000', new URL(server.url).host);

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);
afterAll(async () => {
  await server?.close();
});

it('should check every code block of the README', () => {
  expect(blocks.length).toBeGreaterThan(5);
  expect(blocks.filter((block) => !claimed.has(block)).map((block) => `README.md:${block.line} \`\`\`${block.lang}`)).toEqual([]);
});

describe('the client examples (ts/graphql file=…)', () => {
  beforeAll(async () => {
    rmSync(app, { recursive: true, force: true });
    mkdirSync(join(app, 'node_modules/@roomcast'), { recursive: true });
    // As in a user's app: the package (built by the global setup, with its schema/) under node_modules.
    symlinkSync(join(root, 'packages/client'), join(app, 'node_modules/@roomcast/client'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'readme-app', private: true, type: 'module' }));
    for (const block of appFiles) {
      mkdirSync(dirname(join(app, block.file!)), { recursive: true });
      writeFileSync(join(app, block.file!), block.code);
    }
  }, 120_000);

  it('should generate typed documents with the README codegen.ts and type-check every example', async () => {
    expect(appFiles.map((block) => block.file)).toEqual(expect.arrayContaining(['codegen.ts', 'tsconfig.json']));
    await run(process.execPath, [join(root, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.ts', '--silent'], {
      cwd: app,
    });
    expect(existsSync(join(app, 'src/gql/graphql.ts'))).toBe(true);
    const tsc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app }).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout, failed: true }),
    );
    expect(tsc.stdout).toBe('');
  }, 120_000);

  const programs = appFiles.filter((block) => block.file!.startsWith('src/') && block.file!.endsWith('.ts'));
  it.each(programs.map((block) => [block.file!, block] as const))(
    '%s should print what is published while it runs',
    async (file, block) => {
      const text = `readme ${file}`;
      writeFileSync(join(app, file), local(block.code));
      const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        await waitFor(
          `${file} to print a published message`,
          async () => {
            await postGraphQL(server.url, 'mutation($d: JSON!) { publish(room: "lobby", event: "chat", data: $d) { seq } }', {
              d: { text },
            });
            if (child.exitCode !== null) throw new Error(`${file} exited with ${child.exitCode}: ${output}`);
            return output.includes(text);
          },
          20_000,
          200,
        );
        expect(output).not.toMatch(/error/i);
      } finally {
        child.kill('SIGKILL');
      }
    },
  );
});

describe('the API summary (graphql)', () => {
  const schema = buildSchema(loadTypeDefs().join('\n'));
  const typeText = (node: TypeNode): string =>
    node.kind === Kind.NON_NULL_TYPE
      ? `${typeText(node.type)}!`
      : node.kind === Kind.LIST_TYPE
        ? `[${typeText(node.type)}]`
        : node.name.value;
  const summaryField = (node: FieldDefinitionNode) =>
    `${node.name.value}(${(node.arguments ?? []).map((arg) => `${arg.name.value}: ${typeText(arg.type)}${arg.defaultValue ? ` = ${(arg.defaultValue as { value: string }).value}` : ''}`).join(', ')}): ${typeText(node.type)}`;
  const schemaField = (field: GraphQLField<unknown, unknown>) =>
    `${field.name}(${field.args.map((arg) => `${arg.name}: ${String(arg.type)}${arg.defaultValue !== undefined ? ` = ${JSON.stringify(arg.defaultValue)}` : ''}`).join(', ')}): ${String(field.type)}`;

  it.each(apiSummary.map((block) => [block.line, block] as const))(
    'README.md:%i lists the schema as it is, every field of each type it names',
    (_line, block) => {
      const summary: DocumentNode = parse(block.code);
      for (const definition of summary.definitions) {
        if (definition.kind === Kind.OBJECT_TYPE_DEFINITION) {
          const type = schema.getType(definition.name.value);
          if (!isObjectType(type)) throw new Error(`${definition.name.value} is not an object type of the schema`);
          expect((definition.fields ?? []).map(summaryField).sort()).toEqual(Object.values(type.getFields()).map(schemaField).sort());
        } else if (definition.kind === Kind.UNION_TYPE_DEFINITION) {
          const type = schema.getType(definition.name.value);
          if (!isUnionType(type)) throw new Error(`${definition.name.value} is not a union of the schema`);
          expect((definition.types ?? []).map((member) => member.name.value)).toEqual(type.getTypes().map(String));
        } else {
          throw new Error(`unexpected ${definition.kind} in the API summary`);
        }
      }
    },
  );
});

describe('the shell commands (sh)', () => {
  const scripts = Object.keys(
    (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts,
  );
  const commands = shell.flatMap((block) =>
    block.code
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter((line) => line && !line.startsWith('#') && !block.code.startsWith('curl'))
      .flatMap((line) => line.split('&&').map((command) => command.trim())),
  );

  it('should name only npm commands and scripts that exist, and roomcast commands that answer --help', () => {
    for (const command of commands) {
      const words = command.split(/\s+/).filter((word) => !/^[A-Z_]+=/.test(word));
      if (words[0] === 'roomcast') {
        // The bin as npm installs it: dist/cli/main.js, built by the global setup.
        expect(
          () => execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), words[1]!, '--help'], { stdio: 'pipe' }),
          command,
        ).not.toThrow();
        continue;
      }
      expect(words[0], command).toBe('npm');
      const script = words[1] === 'run' ? words[2] : words[1];
      expect(['install', 'pack', 'ci', ...scripts], command).toContain(script);
    }
  });

  it.each(commands.filter((command) => / npm start$|^npm start$/.test(command)).map((command) => [command]))(
    '%s should start a server',
    async (command) => {
      const env = Object.fromEntries(
        command
          .split(/\s+/)
          .filter((word) => /^[A-Z_]+=/.test(word))
          .map((word) => word.split('=', 2) as [string, string]),
      );
      const started: { stop(): Promise<void> }[] = [];
      // Redis as the line names it, started here: a server, a master behind a sentinel, with the ACL user it logs in as, or a cluster.
      const auth = env.REDIS_USERNAME && env.REDIS_PASSWORD ? { username: env.REDIS_USERNAME, password: env.REDIS_PASSWORD } : undefined;
      const acl = auth ? ['--user', 'default', 'off', '--user', auth.username, 'on', `>${auth.password}`, '~*', '&*', '+@all'] : [];
      if (env.REDIS_URL || env.REDIS_SENTINELS) {
        const redis = await RedisServer.start(inject('redisServerBin'), { args: acl, auth });
        started.push(redis);
        if (env.REDIS_URL) env.REDIS_URL = redis.url;
        if (env.REDIS_SENTINELS) {
          const sentinel = await RedisSentinel.start(inject('redisServerBin'), {
            name: env.REDIS_SENTINEL_MASTER!,
            port: redis.port,
            auth,
          });
          started.unshift(sentinel);
          env.REDIS_SENTINELS = `127.0.0.1:${sentinel.port}`;
        }
      }
      if (env.REDIS_CLUSTER_NODES) {
        const cluster = await RedisCluster.start(inject('redisServerBin'));
        started.push(cluster);
        env.REDIS_CLUSTER_NODES = cluster.seeds;
      }
      env.PORT = String(await freePort());
      const child = spawn('npm', ['start'], {
        cwd: root,
        env: { ...process.env, ...env, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await waitFor(
          `${command} to listen`,
          () => {
            if (child.exitCode !== null) throw new Error(output);
            return output.includes('"roomcast listening"');
          },
          30_000,
        );
        expect(output).toContain(`"broker":"${started.length > 0 ? 'redis' : 'memory'}"`);
        expect(output).toContain(`:${env.PORT}/graphql`);
      } finally {
        process.kill(-child.pid!, 'SIGTERM');
        await within(exited, 15_000, 'npm start to stop');
        for (const server of started) await server.stop();
      }
    },
  );

  it.each(shell.filter((block) => block.code.startsWith('curl')).map((block) => [block.line, block] as const))(
    'README.md:%i runs as written',
    async (_line, block) => {
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', local(block.code)]);
      const expected = /^# (\{.*)$/m.exec(block.code)?.[1];
      const body = JSON.parse(stdout) as { data?: { publish?: { seq?: unknown; cursor?: unknown } } };
      expect(typeof body.data?.publish?.seq, stdout).toBe('number');
      expect(typeof body.data?.publish?.cursor, stdout).toBe('string');
      expect(expected, 'the block shows what it prints').toBeDefined();
    },
  );
});

describe('the layout (plain blocks)', () => {
  it.each(layouts.map((block) => [block.line, block] as const))('README.md:%i names only paths that exist', (_line, block) => {
    const paths = block.code
      .split('\n')
      .map((line) => /^(\S+)/.exec(line)?.[1])
      .filter((path): path is string => path !== undefined);
    expect(paths.length).toBeGreaterThan(3);
    expect(paths.filter((path) => !existsSync(join(root, path)))).toEqual([]);
  });
});

describe('token claims (json)', () => {
  it.each(tokens.map((block) => [block.line, block] as const))('README.md:%i holds a capability the server accepts', (_line, block) => {
    const claims = JSON.parse(block.code) as { roomcast?: unknown };
    expect(claims.roomcast).toBeDefined();
    expect(() => parseCapability(claims.roomcast)).not.toThrow();
  });
});
