/**
 * @roomcast/client as a frontend team gets it: `npm pack` of the workspace, installed from the
 * tarball into a fresh project outside this repository, an app type-checked against the installed
 * types, bundled for the browser with esbuild, and run in Node against a real server. The install
 * must bring nothing of the server, and the bundle no `graphql`.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postGraphQL } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { waitFor, within } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const app = mkdtempSync(join(tmpdir(), 'roomcast-client-app-'));
let server: TestServer;
let tarball: string;

beforeAll(async () => {
  server = await startTestServer();
  const { stdout } = await run('npm', ['pack', '--workspace', '@roomcast/client', '--pack-destination', app, '--json'], { cwd: root });
  tarball = join(app, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // What the README tells a frontend team to install, plus ws for running it in Node 20.
  await run('npm', ['install', tarball, 'graphql-ws@^6', 'ws@^8', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app });
}, 120_000);
afterAll(async () => {
  await server?.close();
  rmSync(app, { recursive: true, force: true });
});

it('should install from its tarball with only graphql-ws (and its graphql peer) beside it', async () => {
  const { stdout } = await run('npm', ['ls', '--all', '--parseable'], { cwd: app });
  const installed = stdout
    .split('\n')
    .filter((line) => line.includes('node_modules'))
    .map((line) => line.slice(line.lastIndexOf('node_modules/') + 13));
  expect(installed.sort()).toEqual(['@roomcast/client', 'graphql', 'graphql-ws', 'ws']);
  const files = readdirSync(join(app, 'node_modules/@roomcast/client'), { recursive: true }) as string[];
  expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'schema/rooms.graphql', 'schema/scalars.graphql']));
  expect(files.filter((file) => file.startsWith('src'))).toEqual([]);
  console.log('client package figures', { tarballKiB: Math.round(statSync(tarball).size / 1024), packages: installed });
});

it('should type-check, bundle for the browser without graphql, and resume-subscribe against a server', async () => {
  writeFileSync(
    join(app, 'app.ts'),
    `import { createRoomcastClient, type HistoryGapInfo } from '@roomcast/client';
declare const ROOMCAST_URL: string;
const gaps: HistoryGapInfo[] = [];
const client = createRoomcastClient({ url: ROOMCAST_URL, onGap: (gap) => gaps.push(gap) });
const query = 'subscription { messages(room: "pkg") { ... on Message { seq data } } }';
for await (const result of client.iterate<{ messages: { seq: number; data: unknown } }>({ query })) {
  console.log(JSON.stringify(result.data?.messages));
  break;
}
await client.dispose();
`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        lib: ['ES2023', 'DOM'],
        noEmit: true,
        types: [],
      },
      files: ['app.ts'],
    }),
  );
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(app, 'tsconfig.json')], { cwd: app });

  const bundle = await build({
    absWorkingDir: app,
    entryPoints: ['app.ts'],
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    outfile: join(app, 'dist/app.js'),
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(bundle.metafile.inputs);
  expect(inputs.filter((input) => /node_modules\/graphql\//.test(input))).toEqual([]);
  expect(inputs.some((input) => input.includes('node_modules/@roomcast/client/dist/index.js'))).toBe(true);
  const bytes = statSync(join(app, 'dist/app.js')).size;
  console.log('client bundle figures', { minifiedBytes: bytes, inputs: inputs.length });

  // Node 20 has no global WebSocket: the app runs as in a browser, with ws standing in for it.
  writeFileSync(
    join(app, 'browser-like.mjs'),
    `import WebSocket from 'ws';\nglobalThis.WebSocket = WebSocket;\nglobalThis.ROOMCAST_URL = process.env.ROOMCAST_URL;\n`,
  );
  const child = spawn(process.execPath, ['--import', './browser-like.mjs', 'dist/app.js'], {
    cwd: app,
    env: { ...process.env, ROOMCAST_URL: server.wsUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // Publish until the app (subscribed without a cursor, so live from when the server accepted it) prints one.
  await waitFor(
    'the bundled app to print a message',
    async () => {
      await postGraphQL(server.url, 'mutation { publish(room: "pkg", event: "e", data: {hello: "pkg"}) { seq } }');
      return output.includes('"hello":"pkg"') || child.exitCode !== null;
    },
    15_000,
    100,
  );
  expect(await within(exited, 5_000, 'the app to exit after dispose')).toBe(0);
  expect(JSON.parse(output.trim().split('\n')[0]!)).toMatchObject({ data: { hello: 'pkg' } });
});
