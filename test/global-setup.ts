import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import 'vitest';
import type { TestProject } from 'vitest/node';
import { findRedisServerBinary } from './helpers/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisServerBin: string;
  }
}

const root = fileURLToPath(new URL('../', import.meta.url));

/**
 * Finds (or, with redis-memory-server, builds) a redis-server binary once for the whole run, and
 * builds what `npm start` and `roomcast/publisher` run (dist/) when a source is newer than it: once,
 * before any test file, so no two files build (and delete dist/) at the same time.
 */
export default async function setup(project: TestProject): Promise<void> {
  await buildIfStale();
  project.provide('redisServerBin', await findRedisServerBinary());
}

async function buildIfStale(): Promise<void> {
  const built = Math.min(mtime(join(root, 'dist/main.js')), mtime(join(root, 'packages/client/dist/index.js')));
  const sources = ['src', 'packages/client/src', 'schema'].map((dir) => newest(join(root, dir)));
  if (Math.max(...sources) <= built) return;
  await promisify(execFile)('npm', ['run', 'build'], { cwd: root });
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : mtime(path));
  }
  return latest;
}
