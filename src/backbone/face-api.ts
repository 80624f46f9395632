/**
 * The `face-api` backbone: the age/gender network shipped in `@vladmandic/face-api` (TinyXception, 112 x 112 RGB
 * input, 420,192 backbone parameters), frozen, giving the 512-d bottleneck its `fc/gender` and `fc/age` layers read.
 * It runs on tfjs's WebAssembly backend (SIMD, one thread per process), loaded from node_modules: no network, no
 * GPU. Inputs are already aligned face crops (as UTKFace's): each image is resized to 112 x 112 (see
 * {@link imageBatches} for `fit`); face-api's detector is not run.
 *
 * The shipped gender layer is the pre-trained (ERM) baseline, as a binary {@link LinearHead} with classes
 * `['male', 'female']`: face-api's `fc/gender` gives 2 logits, index 0 = male, 1 = female (its AgeGenderNet reads
 * `probMale = softmax(logits)[0]`), so P(female) = softmax(logits)[1] = sigmoid(z1 - z0), i.e.
 *
 *   w = W[:, 1] - W[:, 0],   b = b1 - b0.
 *
 * Class index 1 = female matches UTKFace's label `gender` (0 = male, 1 = female).
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { InputError, ShapeError } from '../errors.ts';
import { matrix, type Matrix } from '../data/matrix.ts';
import { imageBatches, IMAGE_FITS, type ImageFit, type SkippedImage } from '../data/images.ts';
import { LinearHead } from '../head/linear-head.ts';
import type { Backbone } from './backbone.ts';
import { cachedEmbeddings, hashFiles, type JsonValue } from './embedding-cache.ts';
import {
  FACE_EMBEDDING_DIM,
  FACE_INPUT_SIZE,
  faceApiModelDir,
  faceBottleneck,
  loadFaceNetWeights,
  useWasmBackend,
  type FaceNetWeights,
} from './_internal/face-net.ts';
import { startFacePool } from './_internal/face-pool.ts';

/** Options of {@link FaceApiBackbone.embedImages}. */
export interface EmbedImagesOptions {
  /** How images that are not square are resized. Default `'contain'` (pad with black, as face-api does). */
  readonly fit?: ImageFit;
  /** Fail on an undecodable image instead of skipping it. Default false. */
  readonly strict?: boolean;
  /** Images per forward pass. Default 16. */
  readonly batchSize?: number;
  /**
   * Worker threads running the net, each with its own tfjs wasm backend (sharp decodes on libuv's pool besides).
   * Default: the number of cores, at most 2 (the target machine). 1 runs the net on the calling thread; small
   * inputs (fewer than 2 batches per worker) also run there.
   */
  readonly threads?: number;
  /** Told about skipped images and rebuilt cache entries. */
  readonly onWarning?: (message: string) => void;
  /** Called after each batch with the files handled so far (skipped ones included) and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Read/write embeddings in this cache folder (e.g. `.fairhead-cache`); `false` or absent: no cache. */
  readonly cacheDir?: string | false;
}

/** Embeddings of image files: row r of `x` is the image `files[rows[r]]`; undecodable images are in `skipped`. */
export interface ImageEmbeddings {
  readonly x: Matrix;
  readonly rows: Int32Array;
  readonly skipped: readonly SkippedImage[];
  /** True when served from the embedding cache. */
  readonly cacheHit: boolean;
}

/** face-api's age/gender net as a frozen {@link Backbone}. */
export interface FaceApiBackbone extends Backbone {
  readonly kind: 'face-api';
  readonly embeddingDim: 512;
  /** Side of the square RGB input (112). */
  readonly inputSize: number;
  /** Identifies the weights (package version + SHA-256 prefix of the .bin): part of every cache key. */
  readonly id: string;
  /** The shipped gender layer: classes `['male', 'female']` (UTKFace's 0 and 1). */
  readonly shippedHead: LinearHead;
  /** Same object as `shippedHead`. */
  readonly shippedGenderHead: LinearHead;
  /**
   * Bottleneck of images given as rows of `112 * 112 * 3` RGB values in 0..255 (row-major height x width x
   * channel, as {@link imageBatches} yields; used as they are, not rounded or clamped). Throws a
   * {@link ShapeError} for another width.
   */
  embed(x: Matrix): Promise<Matrix>;
  /** Decode, resize and embed image files (optionally through the embedding cache). */
  embedImages(files: readonly string[], options?: EmbedImagesOptions): Promise<ImageEmbeddings>;
  /** The shipped age regression, years per row of embeddings (`fc/age`). */
  predictAge(z: Matrix): Float32Array;
}

const require = createRequire(import.meta.url);

/**
 * Load face-api's age/gender weights on the tfjs wasm backend. Takes about 0.1 s; the same process can load it
 * more than once (each load holds its own 1.7 MB of tensors, never freed).
 *
 * @example
 * const net = await loadFaceApiBackbone();
 * const { x } = await net.embedImages(['100_1_0_20170110183726390.jpg.chip.jpg']);
 * net.shippedHead.predict(x); // Int32Array [1]  (1 = female)
 */
export async function loadFaceApiBackbone(): Promise<FaceApiBackbone> {
  await useWasmBackend();
  const dir = faceApiModelDir();
  const weights = loadFaceNetWeights(dir);
  const version = (JSON.parse(readFileSync(require.resolve('@vladmandic/face-api/package.json'), 'utf8')) as { version: string }).version;
  const binHash = createHash('sha256').update(readFileSync(join(dir, 'age_gender_model.bin'))).digest('hex').slice(0, 16);
  const id = `face-api@${version}/age_gender_model/${binHash}`;
  const head = genderHead(weights);

  const embedBytes = (rgb: Uint8Array | Float32Array, count: number): Promise<Float32Array> => faceBottleneck(weights.tensors, rgb, count);

  const backbone: FaceApiBackbone = {
    kind: 'face-api',
    embeddingDim: FACE_EMBEDDING_DIM,
    inputSize: FACE_INPUT_SIZE,
    parameterCount: weights.totalParameters - weights.fcParameters,
    id,
    shippedHead: head,
    shippedGenderHead: head,

    async embed(x: Matrix): Promise<Matrix> {
      const width = FACE_INPUT_SIZE * FACE_INPUT_SIZE * 3;
      if (x.cols !== width) {
        throw new ShapeError(`face-api embeds rows of ${FACE_INPUT_SIZE} x ${FACE_INPUT_SIZE} x 3 = ${width} RGB values, received ${x.cols} columns`);
      }
      const out = new Float32Array(x.rows * FACE_EMBEDDING_DIM);
      const batch = 16;
      for (let start = 0; start < x.rows; start += batch) {
        const count = Math.min(batch, x.rows - start);
        out.set(await embedBytes(x.data.subarray(start * width, (start + count) * width), count), start * FACE_EMBEDDING_DIM);
      }
      return matrix(out, x.rows, FACE_EMBEDDING_DIM);
    },

    async embedImages(files: readonly string[], options: EmbedImagesOptions = {}): Promise<ImageEmbeddings> {
      const { fit = 'contain', strict = false, batchSize = 16, threads = defaultThreads(), onWarning, onProgress, cacheDir = false } = options;
      if (!IMAGE_FITS.includes(fit)) throw new InputError(`unknown image fit "${String(fit)}". Valid: ${IMAGE_FITS.join(', ')}`);
      const compute = async (): Promise<{ matrix: Matrix; extra: JsonValue }> => {
        const kept = new Float32Array(files.length * FACE_EMBEDDING_DIM);
        const rows: number[] = [];
        let skipped: readonly SkippedImage[] = [];
        let done = 0;
        const wanted = Math.min(threads, Math.floor(files.length / (2 * batchSize)));
        const pool = wanted >= 2 ? await startFacePool(wanted) : undefined;
        const run = pool ? (rgb: Uint8Array, n: number) => pool.run(rgb, n) : embedBytes;
        const inflight: Promise<void>[] = [];
        try {
          const decode = imageBatches(files, { size: FACE_INPUT_SIZE, fit, strict, batchSize, ...(onWarning ? { onWarning } : {}) });
          for await (const b of decode) {
            const offset = rows.length * FACE_EMBEDDING_DIM;
            rows.push(...b.rows);
            skipped = b.skipped;
            const batchDone = b.done;
            const finish = (): void => {
              done = Math.max(done, batchDone);
              onProgress?.(done, files.length);
            };
            if (b.rows.length === 0) {
              finish();
              continue;
            }
            const job = run(b.pixels, b.rows.length).then((z) => {
              kept.set(z, offset);
              finish();
            });
            job.catch(() => undefined); // a failure is rethrown where the job is awaited, not reported as unhandled
            inflight.push(job);
            // Keep every worker busy with one batch queued behind it; wait for the oldest beyond that.
            if (inflight.length >= 2 * (pool?.size ?? 1)) await inflight.shift();
          }
          await Promise.all(inflight);
        } finally {
          await Promise.allSettled(inflight);
          await pool?.close();
        }
        const m = matrix(kept.slice(0, rows.length * FACE_EMBEDDING_DIM), rows.length, FACE_EMBEDDING_DIM);
        return { matrix: m, extra: { rows, skipped: skipped.map((s) => ({ index: s.index, reason: s.reason })) } };
      };
      if (cacheDir === false) {
        const { matrix: x, extra } = await compute();
        return { x, ...fromExtra(extra, files), cacheHit: false };
      }
      const contentHash = await hashFiles(files);
      const key = { backbone: id, contentHash, options: { size: FACE_INPUT_SIZE, fit, input: 'rgb-mean/255' } };
      const cached = await cachedEmbeddings(key, compute, { dir: cacheDir, ...(onWarning ? { onWarning } : {}) });
      const { rows, skipped } = fromExtra(cached.extra, files);
      if (cached.hit) {
        const first = skipped[0];
        if (strict && first) {
          throw new InputError(`${first.file}: cannot decode image (${first.reason}); fix or remove it, or run without --strict to skip unreadable images`);
        }
        for (const s of skipped) onWarning?.(`${s.file}: skipped, cannot decode image (${s.reason})`);
        onProgress?.(files.length, files.length);
      }
      return { x: cached.matrix, rows, skipped, cacheHit: cached.hit };
    },

    predictAge(z: Matrix): Float32Array {
      if (z.cols !== FACE_EMBEDDING_DIM) throw new ShapeError(`face-api age layer expects ${FACE_EMBEDDING_DIM} features, received ${z.cols}`);
      const out = new Float32Array(z.rows);
      for (let i = 0; i < z.rows; i++) {
        let s = weights.ageBias[0] as number;
        for (let c = 0; c < FACE_EMBEDDING_DIM; c++) s += (z.data[i * FACE_EMBEDDING_DIM + c] as number) * (weights.ageWeights[c] as number);
        out[i] = s;
      }
      return out;
    },
  };
  return backbone;
}

/** face-api's 2-logit gender layer as a 1-logit head for P(female): w = W[:,1] - W[:,0], b = b1 - b0. */
function genderHead(w: FaceNetWeights): LinearHead {
  const d = FACE_EMBEDDING_DIM;
  const weights = new Float64Array(d);
  for (let c = 0; c < d; c++) weights[c] = (w.genderWeights[2 * c + 1] as number) - (w.genderWeights[2 * c] as number);
  const bias = Float64Array.of((w.genderBias[1] as number) - (w.genderBias[0] as number));
  return new LinearHead(['male', 'female'], d, weights, bias);
}

function defaultThreads(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

function fromExtra(extra: JsonValue, files: readonly string[]): { rows: Int32Array; skipped: SkippedImage[] } {
  const e = extra as { rows?: number[]; skipped?: { index: number; reason: string }[] } | null;
  const rows = Int32Array.from(e?.rows ?? []);
  const skipped = (e?.skipped ?? []).map((s) => ({ index: s.index, file: files[s.index] as string, reason: s.reason }));
  return { rows, skipped };
}
