/**
 * The `face-api` backbone: the age/gender network shipped in `@vladmandic/face-api` (TinyXception, 112 x 112 RGB
 * input, 420,192 backbone parameters), frozen, giving the 512-d bottleneck its `fc/gender` and `fc/age` layers read.
 * Its weights are read from node_modules (no network, no GPU) and the network is rebuilt as an ONNX graph
 * (src/backbone/_internal/face-net.ts) that onnxruntime-node runs on its CPU kernels, on `threads` intra-op threads,
 * while sharp decodes the next images on libuv's thread pool. The embeddings equal those of face-api's own tfjs
 * network to about 1e-5 (test/backbone/face-api.test.ts; bench/backbones-face.ts measures both engines). Inputs
 * are already aligned face crops (as UTKFace's): each image is resized to 112 x 112 (see {@link imageBatches} for
 * `fit`); face-api's detector is not run.
 *
 * The shipped gender layer is the pre-trained (ERM) baseline, as a binary {@link LinearHead} with classes
 * `['male', 'female']`: face-api's `fc/gender` gives 2 logits, index 0 = male, 1 = female (its AgeGenderNet reads
 * `probMale = softmax(logits)[0]`), so P(female) = softmax(logits)[1] = sigmoid(z1 - z0), i.e.
 *
 *   w = W[:, 1] - W[:, 0],   b = b1 - b0.
 *
 * Class index 1 = female matches UTKFace's label `gender` (0 = male, 1 = female).
 */
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { InputError, ShapeError } from '../errors.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import { matrix, type Matrix } from '../data/matrix.ts';
import { imageBatches, IMAGE_FITS, type ImageFit, type SkippedImage } from '../data/images.ts';
import { LinearHead } from '../head/linear-head.ts';
import type { Backbone } from './backbone.ts';
import { cachedEmbeddings, DEFAULT_CACHE_DIR, hashFiles, type JsonValue } from './embedding-cache.ts';
import { sha256 } from '../hash.ts';
import {
  buildFaceNetGraph,
  FACE_EMBEDDING_DIM,
  FACE_GRAPH_INPUT,
  FACE_GRAPH_OUTPUT,
  FACE_INPUT_SIZE,
  faceApiModelDir,
  faceInput,
  loadFaceNetWeights,
  type FaceNetWeights,
} from './_internal/face-net.ts';
import { ort } from './_internal/onnx-session.ts';

/** Options of {@link FaceApiBackbone.embedImages}. */
export interface EmbedImagesOptions {
  /** How images that are not square are resized. Default `'contain'` (pad with black, as face-api does). */
  readonly fit?: ImageFit;
  /** Fail on an undecodable image instead of skipping it. Default false. */
  readonly strict?: boolean;
  /** Images per forward pass. Default 32. */
  readonly batchSize?: number;
  /**
   * onnxruntime intra-op threads running the net (sharp decodes the next images on libuv's thread pool besides).
   * Default: the number of cores, at most 2 (the target machine).
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
  /** The engine computing the embeddings (onnxruntime-node and its version): part of every embedding cache key. */
  readonly engine: string;
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
  /** Close the onnxruntime sessions (the backbone reopens them when used again). */
  close(): Promise<void>;
}

/** Options of {@link loadFaceApiBackbone}. */
export interface LoadFaceApiOptions {
  /**
   * Keep the built ONNX model in this folder (`face-api-<hash>.onnx`, with a `.json` beside it holding its SHA-256)
   * and read it from there next time; `false` or absent: build it in memory (about 0.1 s, once per process).
   */
  readonly cacheDir?: string | false;
  /** Told when a cached model is corrupt and rebuilt. */
  readonly onWarning?: (message: string) => void;
}

const require = createRequire(import.meta.url);

/** Changes whenever the graph written by buildFaceNetGraph changes (so that a cached model is rebuilt). */
const GRAPH_VERSION = 1;

interface FaceNet {
  readonly weights: FaceNetWeights;
  readonly id: string;
  readonly model: Promise<Uint8Array>;
}

let loaded: { weights: FaceNetWeights; id: string; build: () => Uint8Array } | undefined;
const models = new Map<string, Promise<Uint8Array>>();

/**
 * Load face-api's age/gender weights and build the network as an ONNX graph for onnxruntime-node (the weights and
 * the graph once per process; with `cacheDir`, the graph is read from disk when built before). The sessions are
 * created on first use, one per thread count.
 *
 * @example
 * const net = await loadFaceApiBackbone();
 * const { x } = await net.embedImages(['100_1_0_20170110183726390.jpg.chip.jpg']);
 * net.shippedHead.predict(x); // Int32Array [1]  (1 = female)
 */
export async function loadFaceApiBackbone(options: LoadFaceApiOptions = {}): Promise<FaceApiBackbone> {
  const net = faceNet(options);
  await net.model;
  const { weights, id } = net;
  const engine = `onnxruntime-node@${ort.env.versions.common ?? 'unknown'}`;
  const head = genderHead(weights);
  const sessions = new Map<number, Promise<ort.InferenceSession>>();
  const session = (threads: number): Promise<ort.InferenceSession> => {
    let s = sessions.get(threads);
    if (!s) {
      s = net.model.then((bytes) => ort.InferenceSession.create(bytes, sessionOptions(threads)));
      sessions.set(threads, s);
    }
    return s;
  };
  /** Bottlenecks of `count` images of RGB values (HWC, 0..255), through the session of `threads`. */
  const run = async (rgb: Uint8Array | Float32Array, count: number, threads: number, input?: Float32Array): Promise<Float32Array> => {
    const s = FACE_INPUT_SIZE;
    const x = faceInput(rgb, count, input?.subarray(0, count * 3 * s * s));
    const out = await (await session(threads)).run({ [FACE_GRAPH_INPUT]: new ort.Tensor('float32', x, [count, 3, s, s]) });
    return (out[FACE_GRAPH_OUTPUT] as ort.Tensor).data as Float32Array;
  };

  const backbone: FaceApiBackbone = {
    kind: 'face-api',
    embeddingDim: FACE_EMBEDDING_DIM,
    inputSize: FACE_INPUT_SIZE,
    parameterCount: weights.totalParameters - weights.fcParameters,
    id,
    engine,
    shippedHead: head,
    shippedGenderHead: head,

    async embed(x: Matrix): Promise<Matrix> {
      const width = FACE_INPUT_SIZE * FACE_INPUT_SIZE * 3;
      if (x.cols !== width) {
        throw new ShapeError(`face-api embeds rows of ${FACE_INPUT_SIZE} x ${FACE_INPUT_SIZE} x 3 = ${width} RGB values, received ${x.cols} columns`);
      }
      const out = new Float32Array(x.rows * FACE_EMBEDDING_DIM);
      const batch = 32;
      const input = new Float32Array(Math.min(batch, x.rows) * width);
      for (let start = 0; start < x.rows; start += batch) {
        const count = Math.min(batch, x.rows - start);
        out.set(await run(x.data.subarray(start * width, (start + count) * width), count, defaultThreads(), input), start * FACE_EMBEDDING_DIM);
      }
      return matrix(out, x.rows, FACE_EMBEDDING_DIM);
    },

    async embedImages(files: readonly string[], options: EmbedImagesOptions = {}): Promise<ImageEmbeddings> {
      const { fit = 'contain', strict = false, batchSize = 32, threads = defaultThreads(), onWarning, onProgress, cacheDir = false } = options;
      if (!IMAGE_FITS.includes(fit)) throw new InputError(`unknown image fit "${String(fit)}". Valid: ${IMAGE_FITS.join(', ')}`);
      if (!Number.isInteger(threads) || threads < 1) throw new InputError(`face-api threads: expected a positive integer, received ${String(threads)}`);
      const compute = async (): Promise<{ matrix: Matrix; extra: JsonValue }> => {
        const kept = new Float32Array(files.length * FACE_EMBEDDING_DIM);
        const rows: number[] = [];
        let skipped: readonly SkippedImage[] = [];
        const input = new Float32Array(batchSize * 3 * FACE_INPUT_SIZE * FACE_INPUT_SIZE);
        // sharp decodes up to `prefetch` batches ahead on libuv's pool while onnxruntime runs the current one
        const decode = imageBatches(files, { size: FACE_INPUT_SIZE, fit, strict, batchSize, prefetch: 2, ...(onWarning ? { onWarning } : {}) });
        for await (const b of decode) {
          skipped = b.skipped;
          if (b.rows.length > 0) {
            kept.set(await run(b.pixels, b.rows.length, threads, input), rows.length * FACE_EMBEDDING_DIM);
            rows.push(...b.rows);
          }
          onProgress?.(b.done, files.length);
        }
        const m = matrix(kept.slice(0, rows.length * FACE_EMBEDDING_DIM), rows.length, FACE_EMBEDDING_DIM);
        return { matrix: m, extra: { rows, skipped: skipped.map((s) => ({ index: s.index, reason: s.reason })) } };
      };
      if (cacheDir === false) {
        const { matrix: x, extra } = await compute();
        return { x, ...fromExtra(extra, files), cacheHit: false };
      }
      const contentHash = await hashFiles(files);
      // the engine is part of the key: another engine (tfjs before 0.2, another onnxruntime) differs in the last bits
      const key = { backbone: id, contentHash, options: { size: FACE_INPUT_SIZE, fit, input: 'rgb-mean/255', engine } };
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

    async close(): Promise<void> {
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.all(open.map(async (s) => (await s).release()));
    },
  };
  return backbone;
}

/**
 * Session options of the net: `threads` intra-op threads that sleep between runs instead of spinning (the decoding
 * threads need the cores then), every graph optimisation (onnxruntime fuses bias and ReLU into the convolutions).
 */
function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionMode: 'sequential',
    interOpNumThreads: 1,
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    extra: { session: { 'intra_op.allow_spinning': '0' } },
  };
}

/**
 * The weights (decoded once per process) and the model: built once per process in memory, or, with `cacheDir`,
 * read from there when built before (else built and written there).
 */
function faceNet(options: LoadFaceApiOptions): FaceNet {
  if (!loaded) {
    const dir = faceApiModelDir();
    const weights = loadFaceNetWeights(dir);
    const version = (JSON.parse(readFileSync(require.resolve('@vladmandic/face-api/package.json'), 'utf8')) as { version: string }).version;
    const binHash = sha256(readFileSync(join(dir, 'age_gender_model.bin'))).slice(0, 16);
    let bytes: Uint8Array | undefined;
    loaded = { weights, id: `face-api@${version}/age_gender_model/${binHash}`, build: () => (bytes ??= buildFaceNetGraph(weights).bytes) };
  }
  const { weights, id, build } = loaded;
  const { cacheDir = false, onWarning } = options;
  const file = cacheDir === false ? '' : join(resolve(cacheDir || DEFAULT_CACHE_DIR), `face-api-${sha256(`${id}#graph-${GRAPH_VERSION}`).slice(0, 16)}.onnx`);
  let model = models.get(file);
  if (!model) {
    model = file === '' ? Promise.resolve().then(build) : Promise.resolve().then(() => cachedModel(file, build, onWarning));
    models.set(file, model);
    model.catch(() => models.delete(file)); // a failed write is retried by the next load
  }
  return { weights, id, model };
}

/**
 * The model at `file` when its checksum (in `file.json`) matches; otherwise build it, write it there (a corrupt file
 * is reported through `onWarning`) and return it.
 */
function cachedModel(file: string, build: () => Uint8Array, onWarning: ((message: string) => void) | undefined): Uint8Array {
  let meta: { sha256?: string } | undefined;
  try {
    meta = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { sha256?: string };
  } catch {
    meta = undefined;
  }
  if (meta) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = readFileSync(file);
    } catch {
      bytes = undefined;
    }
    if (bytes && sha256(bytes) === meta.sha256) return bytes;
    onWarning?.(`model cache ${file}: ${bytes ? 'does not match its SHA-256 checksum' : 'is missing'}; rebuilding`);
  }
  const built = build();
  writeFileAtomic(file, built);
  writeFileAtomic(`${file}.json`, `${JSON.stringify({ format: 'fairhead.model-cache', sha256: sha256(built), graphVersion: GRAPH_VERSION }, null, 1)}\n`);
  return built;
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
