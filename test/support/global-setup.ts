/**
 * vitest's global setup: build dist/ when src/ is newer (scripts/build.mjs is incremental), because the tests that
 * run the `fairhead` command run it as users do, through bin/fairhead.js on the compiled JavaScript.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const script = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--quiet'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed: the CLI tests need dist/');
}
