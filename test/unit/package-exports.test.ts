import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('should export the resuming client as roomcast/client (built by npm install)', () => {
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', "const m = await import('roomcast/client'); console.log(typeof m.createRoomcastClient)"],
    { cwd: fileURLToPath(new URL('../../', import.meta.url)), encoding: 'utf8' },
  );
  expect(out.trim()).toBe('function');
});
