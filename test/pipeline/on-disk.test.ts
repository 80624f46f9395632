import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseByteSize } from '../../src/cli/flags.ts';
import { writeNpy } from '../../src/data/npy.ts';
import { finetuneAndEvaluate } from '../../src/pipeline/finetune.ts';
import { prepareData } from '../../src/pipeline/prepare.ts';
import type { MetricsFile } from '../../src/report/schema.ts';
import { makeSynth } from '../support/synth.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'fairhead-ondisk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = fileURLToPath(new URL('../../bin/fairhead.js', import.meta.url));

// 3000 x 64 float32 = 768 KB: over half of a 1 MB budget, so it stays on disk
const synth = makeSynth({ nTrain: 3000, nVal: 0, nTest: 0, d: 64, seed: 11 });
const npy = join(dir, 'big.npy');
const labels = join(dir, 'big-labels.csv');
writeNpy(npy, synth.train.x.data, [3000, 64]);
writeFileSync(labels, `y,a\n${Array.from(synth.train.y, (y, i) => `${y},g${synth.train.group[i]}`).join('\n')}\n`);
const data = { embeddings: npy, labels, backbone: 'embeddings', target: 'y', sensitive: ['a'] } as const;

function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i] as number));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  return worst / scale;
}

describe('embeddings larger than --max-memory', () => {
  it('stay on disk and give the heads and metrics of the in-memory run (b1 streamed, m2 + eo read into memory, m2w, m2p)', async () => {
    const memory = await prepareData(data);
    const disk = await prepareData({ ...data, maxMemory: 2 ** 20 });
    expect(memory.onDisk).toBeUndefined();
    expect(disk.onDisk?.train.x.rows).toBe(memory.train.x.rows);
    expect(disk.train.x.data.length).toBe(0); // placeholders: the values stay in the file
    expect(Array.from(disk.test.y)).toEqual(Array.from(memory.test.y));
    for (const head of [
      { method: 'b1', constraint: 'eo', alpha: 0, optimizer: 'lbfgs', seed: 0 },
      { method: 'm2', constraint: 'eo', alpha: 2, optimizer: 'lbfgs', seed: 1 },
      // every row of train + validation (streamed when it passes a quarter of the budget), weighted
      { method: 'm2w', constraint: 'dp', alpha: 2, optimizer: 'lbfgs', seed: 0 },
      { method: 'm2p', constraint: 'eo', alpha: 2, optimizer: 'lbfgs', seed: 1 },
    ] as const) {
      const a = await finetuneAndEvaluate(memory, head);
      const b = await finetuneAndEvaluate(disk, head);
      // the gradient sums are rounded in another order (chunks, threads), so L-BFGS stops a few 1e-8 apart; m2w's
      // rows come in file order on disk, train-then-validation in memory: its fit stops a few 1e-6 apart
      expect(maxRelativeError(b.head.weights, a.head.weights), head.method).toBeLessThan(head.method === 'm2w' ? 1e-5 : 1e-6);
      expect(b.record.cost.finetuneRows).toBe(a.record.cost.finetuneRows);
      for (const split of ['train', 'finetune', 'validation', 'test'] as const) {
        const [sa, sb] = [a.record.splits[split]!, b.record.splits[split]!];
        expect(sb.rows).toBe(sa.rows);
        expect(sb.accuracy).toBeCloseTo(sa.accuracy, 9);
        expect(sb.equalizedOddsDifference).toBeCloseTo(sa.equalizedOddsDifference, 9);
      }
    }
  }, 120_000);

  it('train end to end through `fairhead run --max-memory 1MB`', async () => {
    const out = join(dir, 'run');
    const args = ['run', '--embeddings', npy, '--labels', labels, '--backbone', 'embeddings', '--target', 'y', '--sensitive', 'a', '--method', 'b1', '--max-memory', '1MB', '--bootstrap', '0', '--out', out, '--json'];
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const metrics = JSON.parse(r.stdout) as MetricsFile;
    expect(metrics.runs.map((x) => x.method)).toEqual(['b1']);
    const b1 = metrics.runs[0]!;
    expect(b1.splits.train.rows + b1.splits.validation!.rows + b1.splits.test.rows).toBe(3000);
    expect(b1.splits.test.accuracy).toBeGreaterThan(0.8);
    expect(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'))).toEqual(metrics);
  }, 120_000);

  it('refuse the paper optimizer on a streamed fine-tuning set, and a malformed --max-memory', async () => {
    const disk = await prepareData({ ...data, maxMemory: 2 ** 20 });
    await expect(finetuneAndEvaluate(disk, { method: 'b1', constraint: 'eo', alpha: 0, optimizer: 'paper', seed: 0 })).rejects.toThrow(/optimizer "paper" needs the fine-tuning set in memory/);
    expect(parseByteSize('512MB')).toBe(512 * 2 ** 20);
    expect(parseByteSize('1.5g')).toBe(1.5 * 2 ** 30);
    expect(parseByteSize('4096')).toBe(4096);
    expect(() => parseByteSize('lots')).toThrow('--max-memory: expected a size such as 512MB, 2GB or 1048576 (bytes), received "lots"');
    expect(() => parseByteSize('1PB')).toThrow(/received "1PB"/);
  });
});
