/**
 * The image's runtime stage without Docker (no registry is reachable here, so no image can be built):
 * the files its COPY lines take from the build stage (this repository, built), its `npm ci --omit=dev`
 * in an empty directory, and its CMD, as a real process on a real Redis. Proves that the file list is
 * complete (SDL, Lua scripts, the client workspace) and that a production install needs no dev tool.
 * Needs the npm registry (or a warm npm cache).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, wsClient } from '../helpers/clients.js';
import { copiesFromStages, execForm, readDockerfile } from '../helpers/dockerfile.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const runtime = readDockerfile(join(root, 'Dockerfile')).at(-1)!;
/** Outside the repository, so nothing resolves through its node_modules. */
const app = mkdtempSync(join(tmpdir(), 'roomcast-image-'));
let installLog = '';
let redis: RedisServer;
let replica: Replica | undefined;

beforeAll(async () => {
  for (const { source, target } of copiesFromStages(runtime)) {
    mkdirSync(dirname(join(app, target)), { recursive: true });
    cpSync(join(root, source), join(app, target), { recursive: true });
  }
  // The stage's npm ci, without what follows it (`npm cache clean` would empty this machine's cache).
  const run = runtime.instructions.find((i) => i.keyword === 'RUN' && i.args.startsWith('npm ci'))!;
  const [npm, ...args] = run.args.split('&&')[0]!.trim().split(/\s+/);
  const { stdout, stderr } = await promisify(execFile)(npm!, args, { cwd: app, env: { ...process.env, NODE_ENV: 'production' } });
  installLog = stdout + stderr;
  redis = await RedisServer.start(inject('redisServerBin'));
}, 300_000);
afterAll(async () => {
  await replica?.stop();
  await redis?.stop();
  rmSync(app, { recursive: true, force: true });
});

describe("the Dockerfile's runtime stage, replayed in an empty directory", () => {
  it('should install production dependencies only, using the dist/ built before', () => {
    expect(installLog).toContain('using the dist/ already built');
    for (const dev of ['typescript', 'vitest', '@graphql-codegen/cli', 'redis-memory-server']) {
      expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    }
    expect(existsSync(join(app, 'node_modules/@roomcast/client/dist/protocol.js'))).toBe(true);
  });

  // On Redis: the publish, read and presence scripts (dist/**/scripts/*.lua) all run.
  it('should start with its CMD and serve health, GraphiQL, publishes and subscriptions on Redis', async () => {
    const [command, script, ...rest] = execForm(runtime.instructions.findLast((i) => i.keyword === 'CMD')!.args);
    expect([command, rest]).toEqual(['node', []]);
    replica = await startReplica({ REDIS_URL: redis.url, NODE_ENV: 'production' }, { script: script!, cwd: app });
    for (const path of ['/healthz', '/readyz', '/readyz/replica']) {
      expect((await fetch(new URL(path, replica.url))).status, path).toBe(200);
    }
    // The image's HEALTHCHECK command, as Docker runs it inside the container (PORT from its ENV).
    const [check, ...checkArgs] = execForm(runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')!.args);
    expect(check).toBe('node');
    await promisify(execFile)(process.execPath, checkArgs, {
      cwd: app,
      env: { ...process.env, PORT: String(replica.port) },
      timeout: 10_000,
    });
    const page = await fetch(replica.url, { headers: { accept: 'text/html' } });
    expect([page.status, await page.text()]).toEqual([200, expect.stringContaining('Roomcast')]);

    const room = 'image';
    const first = await postGraphQL(replica.url, PublishDocument, { room, event: 'e', data: 1 });
    expect(first.body.errors).toBeUndefined();
    const client = wsClient(replica.wsUrl);
    try {
      const stream = subscribeWs(client, RoomMessagesDocument, { room, after: first.body.data!.publish.cursor });
      await postGraphQL(replica.url, PublishDocument, { room, event: 'e', data: 2 });
      const [next] = await stream.take(1);
      expect(next!.data!.messages).toMatchObject({ seq: 2, data: 2 });
      stream.dispose();
    } finally {
      await client.dispose();
    }
    expect(await replica.stop()).toBe(0);
  });
});
