// Build dist/ from src/: the TypeScript compiler (tsconfig.build.json: JavaScript + type declarations), then the
// plain-JavaScript modules (src/**/*.mjs: worker entry points, the cell pass, the explore page's script), their
// declarations (*.d.mts), the compiled WebAssembly kernels (src/train/_internal/head-kernels.wasm, made by
// build-kernels.mjs) and stylesheets (*.css: the explore page) beside their compiled neighbours. tsx's bootstraps
// (the .mjs files that register tsx so a worker can load .ts under vitest) stay out: the installed package runs on
// plain Node.
//
// Incremental by design: when dist/.build-stamp is newer than every file and folder of src/ and the build
// configuration, nothing is done (`--force` builds anyway). The new dist/ is written beside the old one and
// renamed over it, so a failed compile leaves the previous build in place and never half a build.
//
// Status lines go to stderr (`npm pack --json` keeps stdout for its JSON).
//
// Run by `npm run build`, by npm's `prepare` (after `npm ci` / `npm install` in a clone) and `prepack` (before
// `npm pack` / `npm publish`), and by the tests' global setup (test/support/global-setup.ts).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const stamp = join(dist, '.build-stamp');
const inputs = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'scripts/build.mjs'].map((f) => join(root, f));

/** Every file and folder under `dir` (folders too: a deleted file changes its folder's time). */
const walk = (dir) => [dir, ...readdirSync(dir).flatMap((name) => {
  const path = join(dir, name);
  return statSync(path).isDirectory() ? walk(path) : [path];
})];

const newest = Math.max(...[...walk(src), ...inputs].map((f) => statSync(f).mtimeMs));
if (!process.argv.includes('--force') && existsSync(stamp) && statSync(stamp).mtimeMs >= newest) {
  if (!process.argv.includes('--quiet')) console.error('fairhead build: dist/ is up to date');
  process.exit(0);
}

const next = join(root, 'dist.building');
rmSync(next, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', next], { stdio: ['ignore', process.stderr, process.stderr] });
if (compiled.status !== 0) {
  rmSync(next, { recursive: true, force: true });
  console.error('fairhead build: tsc failed (dist/ left as it was)');
  process.exit(1);
}
for (const file of walk(src)) {
  if (!(file.endsWith('.mjs') || file.endsWith('.d.mts') || file.endsWith('.wasm') || file.endsWith('.css'))) continue;
  if (file.endsWith('.mjs') && /from 'tsx\//.test(readFileSync(file, 'utf8'))) continue;
  cpSync(file, join(next, relative(src, file)));
}
writeFileSync(join(next, '.build-stamp'), `${new Date().toISOString()}\n`);
rmSync(dist, { recursive: true, force: true });
renameSync(next, dist);
if (!process.argv.includes('--quiet')) console.error('fairhead build: dist/ written');
