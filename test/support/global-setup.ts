/**
 * vitest's global setup: first recompile the WebAssembly kernels (assembly/ -> head-kernels.wasm, cnn-kernels.wasm)
 * when a source is newer than the module, so the tests run what the sources say (then commit the module:
 * test/train/head-kernels.test.ts checks that it is a fresh compile); then build dist/ when src/ is newer
 * (scripts/build.mjs is incremental), because the tests that run the `fairhead` command run it as users do, through
 * bin/fairhead.js on the compiled JavaScript.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureKernels } from '../../scripts/build-kernels.mjs';

export default async function setup(): Promise<void> {
  for (const module of await ensureKernels()) process.stdout.write(`recompiled ${module} (its sources in assembly/ were newer)\n`);
  const script = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--quiet'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed: the CLI tests need dist/');
}
