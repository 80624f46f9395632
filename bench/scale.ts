/**
 * `npm run bench -- scale [--rows N] [--dim D] [--budget 1GB] [--formats npy,parquet] [--shards 8] [--eo] [--keep]`:
 * embeddings larger than the memory budget, as one `.npy` file and as a folder of Parquet shards.
 *
 * 1. Checks free disk: each format needs rows x dim x 4 bytes (10,000,000 x 512 = 20.5 GB, the default) plus a
 *    margin; a format that does not fit is skipped and the result says so. The formats run one after the other
 *    and each is deleted before the next is written, so the disk holds one copy at a time.
 * 2. Writes a seeded linear-Gaussian embedding set, the same rows for both formats, 8192 rows at a time:
 *
 *        a ~ Bernoulli(0.3);  y ~ Bernoulli(a ? 0.2 : 0.4);
 *        x = e + s_y m_a (y - 1/2) u_y + s_a (a - 1/2) u_a,   e ~ N(0, I_512), s_y = 2, s_a = 3, m_1 = 0.6, m_0 = 1,
 *        u_y = the first 16 coordinates / 4, u_a = the next 16 / 4 (unit vectors)
 *
 *    - npy: bench/work/scale/emb.npy with labels bench/work/scale/emb.csv (columns y, a);
 *    - parquet: bench/work/scale/shards/, the folder `fairhead embed --shard K/N` writes (manifest, N shards with
 *      columns id, y, a, embedding: fixed_size_list<float32>[512], their records with SHA-256).
 * 3. Measures, per format: seconds per pass (a streamed forward pass over every row with 2 worker threads, as the
 *    fit makes, timed twice: the first pass reads from disk, the second too when the file is larger than the page
 *    cache), then the real CLI under `/usr/bin/time -v`: `fairhead run --embeddings ... --backbone embeddings
 *    --max-memory 1GB --method b1` (with --eo also m1 + eo), parsing "Maximum resident set size" and the wall
 *    clock. For Parquet the run includes checking the folder (every shard's SHA-256: one read of every byte).
 * 4. Measures the disk's sequential read speed (dd with O_DIRECT, 4 GiB of the file: the page cache left out).
 * 5. Writes bench/results/scale.json: rows, dim, budgetBytes, peakRssBytes and seconds (of the .npy B1 run, the
 *    keys of earlier runs), every format's details, the load average, and the extrapolation to 100 million rows
 *    (10 times the passes' bytes, at the measured speeds, slowed to the disk's when a pass beat it); then deletes
 *    the data unless --keep.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseByteSize } from '../src/cli/flags.ts';
import { diskRows, openDiskMatrix } from '../src/data/disk-matrix.ts';
import { sha256OfFile } from '../src/hash.ts';
import {
  shardFileName,
  shardRange,
  shardRecord,
  writeShardFile,
  writeShardRecord,
  writeShardsManifest,
  type ShardBatch,
  type ShardsManifest,
} from '../src/data/embedding-shards.ts';
import { locateParquetRows, openParquetRows } from '../src/data/parquet-rows.ts';
import type { RowSource } from '../src/data/row-source.ts';
import type { MetricsFile } from '../src/report/schema.ts';
import { createRng, type Rng } from '../src/rng.ts';
import { createStreamingOps } from '../src/train/streaming-ops.ts';
import { writeResult } from './machine.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
};
const rows = Number(flag('--rows', '10000000'));
const dim = Number(flag('--dim', '512'));
const budget = flag('--budget', '1GB');
const formats = flag('--formats', 'npy,parquet').split(',') as ('npy' | 'parquet')[];
const shardCount = Number(flag('--shards', '8'));
const keep = args.includes('--keep');
const root = fileURLToPath(new URL('..', import.meta.url));
const work = `${root}bench/work/scale/`;
const npy = `${work}emb.npy`;
const csv = `${work}emb.csv`;
const shards = `${work}shards`;
const BLOCK = 8192;

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

/** The next `count` rows of the set (see the file comment) into `x`, `y`, `a`. */
function nextRows(rng: Rng, count: number, d: number, x: Float32Array, y: Uint8Array, a: Uint8Array): void {
  for (let r = 0; r < count; r++) {
    const ar = rng.float() < 0.3 ? 1 : 0;
    const yr = rng.float() < (ar ? 0.2 : 0.4) ? 1 : 0;
    const sy = (2 * (ar ? 0.6 : 1) * (yr - 0.5)) / 4;
    const sa = (3 * (ar - 0.5)) / 4;
    const o = r * d;
    for (let c = 0; c < d; c++) x[o + c] = rng.normal() + (c < 16 ? sy : c < 32 ? sa : 0);
    y[r] = yr;
    a[r] = ar;
  }
}

/** emb.npy + emb.csv, seed 0. */
function generateNpy(n: number, d: number): void {
  mkdirSync(work, { recursive: true });
  const rng = createRng(0);
  const fd = openSync(`${npy}.tmp`, 'w');
  const labelsFd = openSync(`${csv}.tmp`, 'w');
  writeSync(fd, npyHeader(n, d));
  writeSync(labelsFd, 'y,a\n');
  const [x, y, a] = [new Float32Array(BLOCK * d), new Uint8Array(BLOCK), new Uint8Array(BLOCK)];
  for (let start = 0; start < n; start += BLOCK) {
    const count = Math.min(BLOCK, n - start);
    nextRows(rng, count, d, x, y, a);
    let text = '';
    for (let r = 0; r < count; r++) text += `${y[r]},${a[r]}\n`;
    writeSync(fd, new Uint8Array(x.buffer, 0, count * d * 4));
    writeSync(labelsFd, text);
    if (start % (BLOCK * 64) === 0) process.stderr.write(`\rnpy: generated ${start + count} / ${n} rows`);
  }
  closeSync(fd);
  closeSync(labelsFd);
  renameSync(`${npy}.tmp`, npy);
  renameSync(`${csv}.tmp`, csv);
  process.stderr.write('\n');
}

/** The same rows (seed 0) as `shardCount` Parquet shards with their records and manifest, as fairhead embed writes. */
async function generateParquet(n: number, d: number): Promise<void> {
  mkdirSync(shards, { recursive: true });
  const manifest: ShardsManifest = {
    format: 'fairhead.embeddings',
    version: 1,
    shards: shardCount,
    inputRows: n,
    dim: d,
    backbone: { kind: 'synthetic', spec: 'bench/scale.ts', id: 'seeded linear-Gaussian, seed 0' },
    input: { kind: 'embeddings' },
    source: { kind: 'rows', file: 'bench/scale.ts', sha256: sha256OfFile(fileURLToPath(import.meta.url)) },
    idColumn: 'id',
    columns: ['id', 'y', 'a', 'embedding'],
  };
  const rng = createRng(0);
  for (let k = 0; k < shardCount; k++) {
    const started = performance.now();
    const range = shardRange(n, k, shardCount);
    async function* batches(): AsyncGenerator<ShardBatch> {
      for (let start = range.start; start < range.end; start += BLOCK) {
        const count = Math.min(BLOCK, range.end - start);
        const [x, y, a] = [new Float32Array(count * d), new Uint8Array(count), new Uint8Array(count)];
        nextRows(rng, count, d, x, y, a);
        yield { ids: Array.from({ length: count }, (_, r) => String(start + r)), text: [Array.from(y, String), Array.from(a, String)], x: { data: x, rows: count, cols: d } };
        if ((start - range.start) % (BLOCK * 64) === 0) process.stderr.write(`\rparquet: shard ${k + 1} / ${shardCount}, row ${start + count} / ${n}`);
      }
    }
    const written = await writeShardFile(shards, k, manifest, batches());
    writeShardRecord(shards, shardRecord(k, manifest, { range: [range.start, range.end], rows: written.rows, skipped: [], bytes: written.bytes, sha256: written.sha256, seconds: (performance.now() - started) / 1000 }));
  }
  writeShardsManifest(shards, manifest);
  process.stderr.write('\n');
}

/** Seconds of streamed forward passes over every row of `source` (2 worker threads, 8 MiB chunks, as a fit makes). */
async function passSeconds(source: RowSource, passes: number): Promise<number[]> {
  const ops = await createStreamingOps(diskRows(source), 1, { threads: 2 });
  const w = new Float64Array(source.cols).fill(0.01);
  const z = new Float64Array(source.rows);
  const out: number[] = [];
  try {
    for (let p = 0; p < passes; p++) {
      const t = performance.now();
      await ops.forward(w, Float64Array.of(0), z);
      out.push((performance.now() - t) / 1000);
    }
  } finally {
    await ops.close();
    source.close();
  }
  return out;
}

/** `fairhead run` under /usr/bin/time -v: peak RSS (bytes), wall seconds and the run's metrics. */
function runCli(input: string[], tag: string, method: string, constraint: string): Record<string, unknown> {
  const out = `${work}out-${tag}-${method}`;
  const cli = ['run', ...input, '--backbone', 'embeddings', '--target', 'y', '--sensitive', 'a', '--method', method, '--constraint', constraint, '--max-memory', budget, '--bootstrap', '0', '--out', out, '--json'];
  const command = ['-v', process.execPath, `${root}bin/fairhead.js`, ...cli];
  process.stderr.write(`/usr/bin/time ${command.join(' ')}\n`);
  const r = spawnSync('/usr/bin/time', command, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`fairhead run failed (${r.status}):\n${r.stderr}`);
  const field = (name: string): string => {
    const m = new RegExp(`${name}: (.*)`).exec(r.stderr);
    if (!m) throw new Error(`/usr/bin/time output lacks "${name}":\n${r.stderr}`);
    return (m[1] as string).trim();
  };
  const wall = field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)').split(':').map(Number);
  const metrics = JSON.parse(r.stdout) as MetricsFile;
  const run = metrics.runs[metrics.runs.length - 1];
  if (!run) throw new Error('metrics.json has no run');
  rmSync(out, { recursive: true, force: true });
  return {
    command: `/usr/bin/time -v fairhead ${cli.join(' ').replaceAll(root, '')}`,
    method,
    constraint: run.constraint,
    peakRssBytes: Number(field('Maximum resident set size \\(kbytes\\)')) * 1024,
    seconds: wall.reduce((s, v) => s * 60 + v, 0),
    cpuSeconds: Number(field('User time \\(seconds\\)')) + Number(field('System time \\(seconds\\)')),
    fitSeconds: run.cost.seconds,
    iterations: run.cost.iterations,
    finetuneRows: run.cost.finetuneRows,
    testAccuracy: run.splits.test.accuracy,
    testEqualizedOddsDifference: run.splits.test.equalizedOddsDifference,
  };
}

/** Sequential read speed of `file` in GB/s (dd, O_DIRECT: past the page cache; up to 4 GiB). */
function diskReadGBps(file: string): number | null {
  const r = spawnSync('dd', [`if=${file}`, 'of=/dev/null', 'bs=16M', 'count=256', 'iflag=direct'], { encoding: 'utf8' });
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(r.stderr);
  return m ? Number(m[1]) / Number(m[2]) / 1e9 : null;
}

const free = (): number => Number(spawnSync('df', ['--output=avail', '-B1', root], { encoding: 'utf8' }).stdout.split('\n')[1]);
const dataBytes = rows * dim * 4;
const loads: number[][] = [os.loadavg()];
const results: Record<string, unknown> = {};
const skipped: string[] = [];
let diskRead: number | null = null;
for (const format of formats) {
  const need = dataBytes * 1.05 + 2 ** 30;
  if (free() < need) {
    skipped.push(`${format}: needs ${(need / 2 ** 30).toFixed(1)} GiB free under ${root}, ${(free() / 2 ** 30).toFixed(1)} GiB available`);
    process.stderr.write(`skipped ${skipped[skipped.length - 1]}\n`);
    continue;
  }
  const t = performance.now();
  if (format === 'npy') generateNpy(rows, dim);
  else await generateParquet(rows, dim);
  const writeSeconds = (performance.now() - t) / 1000;
  const files = format === 'npy' ? [npy] : Array.from({ length: shardCount }, (_, k) => `${shards}/${shardFileName(k, shardCount)}`);
  const fileBytes = files.reduce((s, f) => s + statSync(f).size, 0);
  process.stderr.write(`${format}: wrote ${(fileBytes / 2 ** 30).toFixed(2)} GiB in ${writeSeconds.toFixed(0)} s\n`);
  diskRead ??= diskReadGBps(files[0] as string);
  const source = format === 'npy' ? openDiskMatrix(npy) : await openParquetRows(await locateParquetRows(shards, { text: [] }));
  const passes = await passSeconds(source, 2);
  process.stderr.write(`${format}: streamed passes over all ${rows} rows: ${passes.map((s) => s.toFixed(1)).join(', ')} s\n`);
  loads.push(os.loadavg());
  const input = format === 'npy' ? ['--embeddings', npy, '--labels', csv] : ['--embeddings', shards];
  const runs = [runCli(input, format, 'b1', 'eo')];
  process.stderr.write(`${format} b1: ${JSON.stringify(runs[0])}\n`);
  if (args.includes('--eo')) {
    runs.push(runCli(input, format, 'm1', 'eo'));
    process.stderr.write(`${format} m1: ${JSON.stringify(runs[1])}\n`);
  }
  loads.push(os.loadavg());
  results[format] = { fileBytes, writeSeconds, passSeconds: passes, passGBps: passes.map((s) => dataBytes / s / 1e9), runs };
  if (!keep) rmSync(format === 'npy' ? npy : shards, { recursive: true, force: true });
  if (!keep && format === 'npy') rmSync(csv, { force: true });
}

const npyB1 = (results['npy'] as { runs: Record<string, number>[] } | undefined)?.runs[0];
/**
 * 100M rows from this run's 10M: every pass reads 10 times the bytes, so the fit takes 10 times its seconds, and
 * longer still when this run's passes were faster than the disk (the page cache held some of the 20 GB; 205 GB
 * never fits it). The passes a fit makes do not change with the rows (the same iterations, the same line search).
 */
const extrapolate = (format: string): Record<string, number> | null => {
  const r = results[format] as { passSeconds: number[]; runs: Record<string, number>[] } | undefined;
  const b1 = r?.runs[0];
  if (!r || !b1 || !diskRead) return null;
  const pass = Math.min(...r.passSeconds);
  const slower = Math.max(1, dataBytes / pass / 1e9 / diskRead);
  const scale = (100e6 / rows) * slower;
  return { secondsPerPass: pass * scale, fitSeconds: (b1['fitSeconds'] as number) * scale, runSeconds: (b1['seconds'] as number) * scale };
};
writeResult('scale', {
  rows,
  dim,
  budgetBytes: parseByteSize(budget),
  peakRssBytes: npyB1?.['peakRssBytes'] ?? null,
  seconds: npyB1?.['seconds'] ?? null,
  note:
    'per format: a streamed forward pass over every row (2 worker threads, 8 MiB chunks; Parquet decodes one row group per thread at a time), then `fairhead run --max-memory` (B1: exact full-batch L-BFGS over the 60% train split; the whole CLI process: labels, the shard check with its SHA-256 read of every byte for Parquet, the fit, evaluating every split); RSS does not count the OS page cache',
  diskReadGBps: diskRead,
  extrapolation100M: {
    assumption: '100M x 512 float32 = 205 GB: 10 times the bytes per pass, the same passes (the same L-BFGS iterations); slower again by pass GB/s / disk GB/s when this run\'s passes beat the disk (page cache)',
    npy: extrapolate('npy'),
    parquet: extrapolate('parquet'),
  },
  skipped,
  loadAverage1m: loads.map((l) => l[0]),
  ...results,
});
if (!keep) rmSync(work, { recursive: true, force: true });
