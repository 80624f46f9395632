/**
 * `npm run bench [-- NAME ...]`: runs bench/NAME.ts for each name given (all benchmarks without names; a part such
 * as backbones-mlp runs alone when named, else through its parent, backbones).
 * Each benchmark writes its numbers to bench/results/NAME.json with the machine noted.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureKernels } from '../scripts/build-kernels.mjs';

const dir = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'machine.ts'].includes(f) && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
// names with a '-' (backbones-mlp) are parts that their parent benchmark (backbones) runs
const chosen = names.length > 0 ? names : all.filter((n) => !n.includes('-'));
// the benchmarks measure what assembly/ says: recompile the kernels when a source is newer than the module
for (const module of await ensureKernels()) process.stdout.write(`recompiled ${module} (its sources in assembly/ were newer)\n`);
for (const name of chosen) {
  if (!all.includes(name)) {
    process.stderr.write(`bench: unknown benchmark "${name}". Valid: ${all.join(', ')}\n`);
    process.exit(2);
  }
  process.stdout.write(`== bench ${name}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${name}.ts`], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
