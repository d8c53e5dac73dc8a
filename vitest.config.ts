import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // One copy of graphql for project code and dependencies: Vite would otherwise load graphql's
    // .mjs build for our code and Node its .js build for Yoga, and errors would cross "realms".
    alias: [
      { find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') },
      // The client workspace from its source, as tsconfig's paths and tsx read it (its dist/ is for the package).
      { find: /^@roomcast\/client$/, replacement: fileURLToPath(new URL('packages/client/src/index.ts', import.meta.url)) },
      { find: /^@roomcast\/client\/(.*)$/, replacement: fileURLToPath(new URL('packages/client/src/$1.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Tests start servers and redis-server processes; one file at a time keeps timing honest on 2 cores.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
