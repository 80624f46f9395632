/**
 * `npx tsx bench/scale.ts [--rows N] [--dim D] [--budget 1GB] [--keep]`: embeddings larger than the memory budget.
 *
 * 1. Writes a seeded linear-Gaussian embedding set (default 2,000,000 x 512 float32 = 4.1 GB) as
 *    bench/work/scale/emb.npy with labels bench/work/scale/emb.csv (columns y, a), streamed in chunks:
 *
 *        a ~ Bernoulli(0.3);  y ~ Bernoulli(a ? 0.2 : 0.4);
 *        x = e + s_y m_a (y - 1/2) u_y + s_a (a - 1/2) u_a,   e ~ N(0, I_512), s_y = 2, s_a = 3, m_1 = 0.6, m_0 = 1,
 *        u_y = the first 16 coordinates / 4, u_a = the next 16 / 4 (unit vectors)
 *
 * 2. Runs the real CLI under `/usr/bin/time -v`, `fairhead run --embeddings emb.npy --backbone embeddings
 *    --max-memory 1GB`: B1 (cross-entropy on the 1.2M train rows, streamed) and M1 + EO (the 400k validation rows,
 *    streamed), and parses "Maximum resident set size" and the wall clock.
 * 3. Writes bench/results/scale.json: rows, dim, budgetBytes, peakRssBytes, seconds (of the B1 run, the issue's
 *    keys), every run's details, and the machine; then deletes the 4 GB file unless --keep.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseByteSize } from '../src/cli/flags.ts';
import type { MetricsFile } from '../src/report/schema.ts';
import { createRng } from '../src/rng.ts';
import { writeResult } from './machine.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
};
const rows = Number(flag('--rows', '2000000'));
const dim = Number(flag('--dim', '512'));
const budget = flag('--budget', '1GB');
const keep = args.includes('--keep');
const root = fileURLToPath(new URL('..', import.meta.url));
const work = `${root}bench/work/scale/`;
const npy = `${work}emb.npy`;
const csv = `${work}emb.csv`;

/** The .npy 1.0 header of a C-order float32 rows x cols array (padded so the data starts on a 64-byte boundary). */
function npyHeader(n: number, d: number): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, ${d}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  return out;
}

/** Write the embeddings and labels (see the file comment), seed 0, 8192 rows at a time. */
function generate(n: number, d: number): void {
  mkdirSync(work, { recursive: true });
  const rng = createRng(0);
  const fd = openSync(`${npy}.tmp`, 'w');
  const labelsFd = openSync(`${csv}.tmp`, 'w');
  writeSync(fd, npyHeader(n, d));
  writeSync(labelsFd, 'y,a\n');
  const block = 8192;
  const buf = new Float32Array(block * d);
  for (let start = 0; start < n; start += block) {
    const count = Math.min(block, n - start);
    let text = '';
    for (let r = 0; r < count; r++) {
      const a = rng.float() < 0.3 ? 1 : 0;
      const y = rng.float() < (a ? 0.2 : 0.4) ? 1 : 0;
      const sy = (2 * (a ? 0.6 : 1) * (y - 0.5)) / 4;
      const sa = (3 * (a - 0.5)) / 4;
      const o = r * d;
      for (let c = 0; c < d; c++) buf[o + c] = rng.normal() + (c < 16 ? sy : c < 32 ? sa : 0);
      text += `${y},${a}\n`;
    }
    writeSync(fd, new Uint8Array(buf.buffer, 0, count * d * 4));
    writeSync(labelsFd, text);
    if (start % (block * 32) === 0) process.stderr.write(`\rgenerated ${start + count} / ${n} rows`);
  }
  closeSync(fd);
  closeSync(labelsFd);
  renameSync(`${npy}.tmp`, npy);
  renameSync(`${csv}.tmp`, csv);
  process.stderr.write('\n');
}

/** Run `fairhead run ... --method M` under /usr/bin/time -v; peak RSS (bytes), wall seconds and metrics. */
function runCli(method: string, constraint: string): Record<string, unknown> {
  const out = `${work}out-${method}-${constraint}`;
  const cli = ['run', '--embeddings', npy, '--labels', csv, '--backbone', 'embeddings', '--target', 'y', '--sensitive', 'a',
    '--method', method, '--constraint', constraint, '--max-memory', budget, '--bootstrap', '0', '--out', out, '--json'];
  const command = ['-v', process.execPath, `${root}bin/fairhead.js`, ...cli];
  process.stderr.write(`/usr/bin/time ${command.join(' ')}\n`);
  const r = spawnSync('/usr/bin/time', command, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`fairhead run failed (${r.status}):\n${r.stderr}`);
  const field = (name: string): string => {
    const m = new RegExp(`${name}: (.*)`).exec(r.stderr);
    if (!m) throw new Error(`/usr/bin/time output lacks "${name}":\n${r.stderr}`);
    return (m[1] as string).trim();
  };
  const peakRssBytes = Number(field('Maximum resident set size \\(kbytes\\)')) * 1024;
  const wall = field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)').split(':').map(Number);
  const seconds = wall.reduce((s, v) => s * 60 + v, 0);
  const metrics = JSON.parse(r.stdout) as MetricsFile;
  const run = metrics.runs[metrics.runs.length - 1];
  if (!run) throw new Error('metrics.json has no run');
  return {
    command: `/usr/bin/time -v fairhead ${cli.join(' ').replaceAll(root, '')}`,
    method,
    constraint: run.constraint,
    peakRssBytes,
    seconds,
    cpuSeconds: Number(field('User time \\(seconds\\)')) + Number(field('System time \\(seconds\\)')),
    fitSeconds: run.cost.seconds,
    iterations: run.cost.iterations,
    finetuneRows: run.cost.finetuneRows,
    testAccuracy: run.splits.test.accuracy,
    testEqualizedOddsDifference: run.splits.test.equalizedOddsDifference,
  };
}

const bytes = rows * dim * 4;
const free = Number(spawnSync('df', ['--output=avail', '-B1', root], { encoding: 'utf8' }).stdout.split('\n')[1]);
if (!existsSync(npy) || statSync(npy).size !== bytes + npyHeader(rows, dim).length) {
  if (free < 1.5 * bytes) throw new Error(`need ${(1.5 * bytes / 2 ** 30).toFixed(1)} GiB free under ${root}, ${(free / 2 ** 30).toFixed(1)} GiB available`);
  const t = performance.now();
  generate(rows, dim);
  process.stderr.write(`wrote ${npy} (${(statSync(npy).size / 2 ** 30).toFixed(2)} GiB) in ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
}
const load = os.loadavg()[0];
const b1 = runCli('b1', 'eo');
process.stderr.write(`b1: ${JSON.stringify(b1)}\n`);
const m1 = args.includes('--no-eo') ? null : runCli('m1', 'eo');
if (m1) process.stderr.write(`m1: ${JSON.stringify(m1)}\n`);
writeResult('scale', {
  rows,
  dim,
  budgetBytes: parseByteSize(budget),
  peakRssBytes: b1.peakRssBytes,
  seconds: b1.seconds,
  fileBytes: statSync(npy).size,
  note: 'fairhead run --max-memory streams the .npy (2 worker threads, 8 MiB chunks; the file sits in the OS page cache, which RSS does not count); peakRssBytes/seconds: B1 (cross-entropy, exact full-batch L-BFGS over the 60% train split), whole CLI process incl. reading the labels CSV and evaluating every split',
  loadAverage1m: load,
  runs: [b1, ...(m1 ? [m1] : [])],
});
if (!keep) {
  rmSync(work, { recursive: true, force: true });
  process.stderr.write(`deleted ${work}\n`);
}
JSON.parse(readFileSync(`${root}bench/results/scale.json`, 'utf8'));
