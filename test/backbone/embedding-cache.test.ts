import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { matrix, type Matrix } from '../../src/data/matrix.ts';
import { cacheKey, cachedEmbeddings, hashFiles, hashMatrix, type EmbeddingCacheKey } from '../../src/backbone/embedding-cache.ts';

const tmp = mkdtempSync(join(tmpdir(), 'fairhead-cache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A compute function that counts its calls and returns [[1, 2, 3], [4, 5, 6.5]]. */
function counter(): { calls: number; compute: () => Promise<Matrix> } {
  const c = {
    calls: 0,
    compute: async (): Promise<Matrix> => {
      c.calls++;
      return matrix(Float32Array.of(1, 2, 3, 4, 5, 6.5), 2, 3);
    },
  };
  return c;
}

const key: EmbeddingCacheKey = { backbone: 'test-net@1', contentHash: 'abc', options: { size: 112, fit: 'contain' } };

describe('cachedEmbeddings', () => {
  it('computes once, then serves identical bytes from disk', async () => {
    const dir = mkdtempSync(join(tmp, 'c-'));
    const c = counter();
    const first = await cachedEmbeddings(key, c.compute, { dir });
    expect(first.hit).toBe(false);
    const second = await cachedEmbeddings(key, c.compute, { dir });
    expect(second.hit).toBe(true);
    expect(c.calls).toBe(1);
    expect([second.matrix.rows, second.matrix.cols]).toEqual([2, 3]);
    expect(Buffer.from(second.matrix.data.buffer)).toEqual(Buffer.from(first.matrix.data.buffer));
    expect(readFileSync(join(dir, `${first.key}.f32`)).length).toBe(2 * 3 * 4);
    const meta = JSON.parse(readFileSync(join(dir, `${first.key}.json`), 'utf8')) as { rows: number; cols: number; key: EmbeddingCacheKey };
    expect([meta.rows, meta.cols, meta.key.backbone]).toEqual([2, 3, 'test-net@1']);
  });

  it('keeps another entry when the backbone, the content or an option changes', async () => {
    const dir = mkdtempSync(join(tmp, 'c-'));
    const c = counter();
    await cachedEmbeddings(key, c.compute, { dir });
    await cachedEmbeddings({ ...key, backbone: 'test-net@2' }, c.compute, { dir });
    await cachedEmbeddings({ ...key, contentHash: 'abd' }, c.compute, { dir });
    const other = await cachedEmbeddings({ ...key, options: { size: 96, fit: 'contain' } }, c.compute, { dir });
    expect(other.hit).toBe(false);
    expect(c.calls).toBe(4);
  });

  it('ignores the order of option keys', () => {
    expect(cacheKey({ backbone: 'b', contentHash: 'h', options: { size: 112, fit: 'cover' } })).toBe(
      cacheKey({ contentHash: 'h', backbone: 'b', options: { fit: 'cover', size: 112 } }),
    );
  });

  it('rebuilds an entry whose binary no longer matches its checksum, with a warning', async () => {
    const dir = mkdtempSync(join(tmp, 'c-'));
    const c = counter();
    const first = await cachedEmbeddings(key, c.compute, { dir });
    const bin = join(dir, `${first.key}.f32`);
    const bytes = readFileSync(bin);
    bytes[5] = (bytes[5] as number) ^ 0xff; // same length, one byte flipped
    writeFileSync(bin, bytes);
    const warnings: string[] = [];
    const again = await cachedEmbeddings(key, c.compute, { dir, onWarning: (m) => warnings.push(m) });
    expect(again.hit).toBe(false);
    expect(c.calls).toBe(2);
    expect(warnings).toEqual([`embedding cache ${join(dir, `${first.key}.json`)}: binary does not match its SHA-256 checksum; recomputing`]);
    expect(Array.from(again.matrix.data)).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect((await cachedEmbeddings(key, c.compute, { dir })).hit).toBe(true);
  });

  it('rebuilds a truncated binary and unreadable metadata', async () => {
    const dir = mkdtempSync(join(tmp, 'c-'));
    const c = counter();
    const first = await cachedEmbeddings(key, c.compute, { dir });
    writeFileSync(join(dir, `${first.key}.f32`), new Uint8Array(8));
    const warnings: string[] = [];
    await cachedEmbeddings(key, c.compute, { dir, onWarning: (m) => warnings.push(m) });
    writeFileSync(join(dir, `${first.key}.json`), '{"format": "fairhead.embedd');
    await cachedEmbeddings(key, c.compute, { dir, onWarning: (m) => warnings.push(m) });
    expect(c.calls).toBe(3);
    expect(warnings[0]).toContain('binary holds 8 bytes, expected 2 x 3 x 4 = 24');
    expect(warnings[1]).toContain('metadata is not valid JSON');
  });

  it('stores extra JSON beside the matrix and returns it on a hit', async () => {
    const dir = mkdtempSync(join(tmp, 'c-'));
    const m = matrix(Float32Array.of(0.5), 1, 1);
    const compute = async () => ({ matrix: m, extra: { rows: [0], skipped: [{ index: 1, reason: 'corrupt' }] } });
    await cachedEmbeddings(key, compute, { dir });
    const hit = await cachedEmbeddings(key, compute, { dir });
    expect(hit.hit).toBe(true);
    expect(hit.extra).toEqual({ rows: [0], skipped: [{ index: 1, reason: 'corrupt' }] });
  });
});

describe('content hashes', () => {
  it('hashFiles follows the bytes, not the names', async () => {
    const a = join(tmp, 'a.bin');
    const b = join(tmp, 'b.bin');
    const a2 = join(tmp, 'a-copy.bin');
    writeFileSync(a, 'hello');
    writeFileSync(b, 'world');
    writeFileSync(a2, 'hello');
    const h = await hashFiles([a, b]);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashFiles([a2, b])).toBe(h);
    expect(await hashFiles([b, a])).not.toBe(h);
    writeFileSync(a2, 'hellp');
    expect(await hashFiles([a2, b])).not.toBe(h);
  });

  it('hashFiles sees a byte moving from one file to the next', async () => {
    const files = ['ab', 'c', 'a', 'bc'].map((t, i) => {
      const f = join(tmp, `m${i}.bin`);
      writeFileSync(f, t);
      return f;
    });
    expect(await hashFiles(files.slice(0, 2))).not.toBe(await hashFiles(files.slice(2)));
  });

  it('hashMatrix depends on the shape as well as the values', () => {
    const v = Float32Array.of(1, 2);
    expect(hashMatrix(matrix(v, 1, 2))).not.toBe(hashMatrix(matrix(v, 2, 1)));
    expect(hashMatrix(matrix(v, 1, 2))).toBe(hashMatrix(matrix(Float32Array.of(1, 2), 1, 2)));
  });
});
