// `prepare` runs on every `npm install` / `npm ci` in this directory. A development install has the
// compiler and builds dist/. A production install (`npm ci --omit=dev`, the Dockerfile's runtime stage)
// has no compiler: it runs the dist/ built before (the build stage), so it must not try to build.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

function hasCompiler() {
  try {
    createRequire(import.meta.url).resolve('typescript/package.json');
    return true;
  } catch {
    return false;
  }
}

if (hasCompiler()) {
  execSync('npm run build', { stdio: 'inherit' });
} else if (existsSync(new URL('../dist/main.js', import.meta.url))) {
  console.log('roomcast: production install (no dev dependencies): using the dist/ already built');
} else {
  console.warn('roomcast: no dev dependencies and no dist/: `npm start` needs `npm run build` on a full install first');
}
