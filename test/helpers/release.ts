/**
 * A previous release of Roomcast, built from this repository's git history, to run beside the current
 * code (rolling upgrades). The tree of the commit is exported to a directory under the system's temp
 * directory, given this repository's installed packages, and compiled with its own `npm run build`
 * (its tsconfig.build.json and its copy of the Lua scripts); the result is kept there, keyed by
 * commit, so later runs (CI runs the suite on three Node versions) reuse it; its packages are linked
 * again on every use, to the checkout that runs it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** The full hash of `commit` when this checkout has it, else why not (not a git checkout, a shallow clone). */
export function resolveCommit(commit: string): { hash: string } | { missing: string } {
  try {
    const hash = execFileSync('git', ['-C', root, 'rev-parse', '--verify', '--quiet', `${commit}^{commit}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
    return hash ? { hash } : { missing: `commit ${commit} is not in this checkout's history (a shallow clone?)` };
  } catch (error) {
    return { missing: `cannot read commit ${commit} from git (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
  }
}

/** The directory of `hash`'s tree, built; reused when a previous run built it. */
export async function buildRelease(hash: string): Promise<string> {
  const dir = join(tmpdir(), `roomcast-release-${hash.slice(0, 12)}`);
  const done = join(dir, '.roomcast-built');
  if (existsSync(done)) {
    // Built by an earlier run, maybe of another checkout (CI clones afresh): its links may point there.
    linkPackages(dir);
    return dir;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = join(tmpdir(), `roomcast-release-${hash.slice(0, 12)}.tar`);
  await run('git', ['-C', root, 'archive', '--format=tar', '-o', archive, hash]);
  await run('tar', ['-xf', archive, '-C', dir]);
  rmSync(archive, { force: true });
  linkPackages(dir);
  await run('npm', ['run', 'build'], { cwd: dir });
  writeFileSync(done, `${new Date().toISOString()}\n`);
  return dir;
}

/**
 * node_modules for the release: this repository's packages, each linked, except the workspace package
 * @roomcast/client, which must be the release's own (the server imports its compiled protocol module).
 */
function linkPackages(dir: string): void {
  const modules = join(dir, 'node_modules');
  rmSync(modules, { recursive: true, force: true });
  mkdirSync(join(modules, '@roomcast'), { recursive: true });
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry === '@roomcast') continue;
    symlinkSync(join(root, 'node_modules', entry), join(modules, entry));
  }
  symlinkSync(join(dir, 'packages/client'), join(modules, '@roomcast/client'));
}
