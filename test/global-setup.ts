import 'vitest';
import type { TestProject } from 'vitest/node';
import { findRedisServerBinary } from './helpers/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisServerBin: string;
  }
}

/** Finds (or, with redis-memory-server, builds) a redis-server binary once for the whole run. */
export default async function setup(project: TestProject): Promise<void> {
  project.provide('redisServerBin', await findRedisServerBinary());
}
