/**
 * An ONNX backbone is known by its content (the model file and its external data files), not by its path: caches
 * and shard manifests must not serve one model's embeddings for another saved at the same path.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnnxBackbone } from '../../src/backbone/onnx.ts';
import { prepareData } from '../../src/pipeline/prepare.ts';
import { textCsv, writeTinyBert } from '../fixtures/make-text-model.ts';

const root = mkdtempSync(join(tmpdir(), 'fairhead-content-id-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function idOf(file: string): Promise<string> {
  const net = await loadOnnxBackbone(file);
  try {
    return net.contentId();
  } finally {
    await net.close();
  }
}

/** Double every float of an external data file (same size, other weights). */
function doubleWeights(file: string): void {
  const bytes = readFileSync(file);
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * 2;
  writeFileSync(file, new Uint8Array(values.buffer));
}

describe('OnnxBackbone.contentId', () => {
  it('is the SHA-256 of a self-contained model file', async () => {
    const dir = join(root, 'inline');
    mkdirSync(dir);
    const file = writeTinyBert(dir);
    expect(await idOf(file)).toBe(`sha256:${sha256(readFileSync(file))}`);
  });

  it('covers the external data: the same files elsewhere keep the id, other weights in model.onnx_data change it', async () => {
    const a = join(root, 'external-a');
    const b = join(root, 'external-b');
    mkdirSync(a);
    mkdirSync(b);
    const file = writeTinyBert(a, { external: true });
    for (const name of ['model.onnx', 'model.onnx_data']) copyFileSync(join(a, name), join(b, name));
    const id = await idOf(file);
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(id).not.toBe(`sha256:${sha256(readFileSync(file))}`);
    expect(await idOf(join(b, 'model.onnx'))).toBe(id);
    doubleWeights(join(b, 'model.onnx_data'));
    expect(readFileSync(join(b, 'model.onnx'))).toEqual(readFileSync(file));
    expect(await idOf(join(b, 'model.onnx'))).not.toBe(id);
  });
});

describe('the embedding cache with an ONNX backbone', () => {
  it('embeds again when the model at the same path has other weights (model.onnx unchanged, model.onnx_data re-saved)', async () => {
    const dir = join(root, 'cache-case');
    mkdirSync(join(dir, 'bert'), { recursive: true });
    const model = writeTinyBert(join(dir, 'bert'), { external: true });
    writeFileSync(join(dir, 'reviews.csv'), textCsv());
    const options = {
      data: join(dir, 'reviews.csv'), textColumn: 'text', target: 'label', positive: 'pos', sensitive: ['group'],
      backbone: `onnx:${model}`, maxLength: 12, cacheDir: join(dir, 'cache'),
    };
    const first = await prepareData(options);
    const again = await prepareData(options);
    expect(Array.from(again.train.x.data)).toEqual(Array.from(first.train.x.data));
    doubleWeights(join(dir, 'bert', 'model.onnx_data'));
    const changed = await prepareData(options);
    expect(changed.train.x.rows).toBe(first.train.x.rows);
    expect(Array.from(changed.train.x.data)).not.toEqual(Array.from(first.train.x.data));
  });
});
