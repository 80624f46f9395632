// After `tsc`, copy the plain-JS modules (src/**/*.mjs: worker entry points, the cell pass) and their type
// declarations (*.d.mts) into dist/ beside their compiled modules.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const src = new URL('../src/', import.meta.url).pathname;
const dist = new URL('../dist/', import.meta.url).pathname;
const walk = (dir) => readdirSync(dir).flatMap((name) => {
  const path = join(dir, name);
  return statSync(path).isDirectory() ? walk(path) : [path];
});
for (const file of walk(src).filter((f) => f.endsWith('.mjs') || f.endsWith('.d.mts'))) cpSync(file, join(dist, relative(src, file)));
