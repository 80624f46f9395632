/**
 * Test support (not a test): the reference the onnxruntime engine (src/backbone/_internal/face-net.ts) is checked
 * against, and the engine fairhead used before it (bench/backbones-face.ts measures both). face-api's age/gender
 * network (TinyXception, 2 main blocks) rebuilt from tfjs ops on tfjs's WebAssembly backend, its weights decoded by
 * tfjs itself, so its 512-d bottleneck can be read without face-api's detector, canvas or platform set-up. The
 * layer order and preprocessing follow
 * `@vladmandic/face-api` src/xception/TinyXception.ts and src/ageGenderNet/AgeGenderNet.ts (v1.7.15):
 *
 *   x = (rgb - [122.782, 117.001, 104.298]) / 255            (112 x 112 x 3, rgb in 0..255)
 *   relu(conv 3x3/2) -> reduction block 0 (no input relu) -> reduction block 1 -> 2 main blocks
 *   -> exit reduction block -> relu(separable conv 256->512)  (7 x 7 x 512)
 *   bottleneck = average over the 7 x 7 positions            (face-api: avgPool 7x7 'valid' = the same 1 x 1 x 512)
 *   gender logits = bottleneck . fc/gender/weights [512, 2] + bias; index 0 = male, 1 = female
 *   (face-api: `probMale = softmax(gender)[0]`), age = bottleneck . fc/age/weights [512, 1] + bias.
 *
 * Weights are read from node_modules/@vladmandic/face-api/model (uint8-quantised, decoded by tfjs).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { InputError } from '../../src/errors.ts';

import { FACE_INPUT_SIZE, FACE_MEAN_RGB, faceApiModelDir } from '../../src/backbone/_internal/face-net.ts';

const require = createRequire(import.meta.url);

let backendReady: Promise<void> | undefined;

/**
 * Select tfjs's WebAssembly backend, loading its .wasm files from node_modules (a file path: no network).
 * Runs once per thread; later calls return the same promise.
 */
export function useWasmBackend(): Promise<void> {
  backendReady ??= (async () => {
    const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    setWasmPaths(`${dirname(wasmFile)}/`);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('tfjs: the wasm backend failed to initialise');
    await tf.ready();
  })();
  return backendReady;
}

/** The decoded weights of the age/gender net: tensors by face-api's names, and the fc layers as plain arrays. */
export interface TfjsFaceNetWeights {
  readonly tensors: tf.NamedTensorMap;
  /** fc/gender/weights, row-major 512 x 2. */
  readonly genderWeights: Float32Array;
  readonly genderBias: Float32Array;
  /** fc/age/weights, 512 values. */
  readonly ageWeights: Float32Array;
  readonly ageBias: Float32Array;
  /** Number of values in every tensor of the file (backbone + both fc layers). */
  readonly totalParameters: number;
  /** Number of values in the fc layers (gender + age). */
  readonly fcParameters: number;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'uint8'; scale: number; min: number };
}

/** Read and decode age_gender_model.bin with its manifest. Call after {@link useWasmBackend}. */
export function loadTfjsFaceNetWeights(modelDir = faceApiModelDir()): TfjsFaceNetWeights {
  const manifestFile = join(modelDir, 'age_gender_model-weights_manifest.json');
  let manifest: { paths: string[]; weights: ManifestEntry[] }[];
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new InputError(`${manifestFile}: cannot read face-api's weight manifest (${(error as Error).message}); is @vladmandic/face-api installed?`);
  }
  const tensors: tf.NamedTensorMap = {};
  for (const group of manifest) {
    const buffers = group.paths.map((p) => {
      const b = readFileSync(join(modelDir, p));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    });
    const data = buffers.length === 1 ? (buffers[0] as ArrayBuffer) : tf.io.concatenateArrayBuffers(buffers);
    Object.assign(tensors, tf.io.decodeWeights(data, group.weights as tf.io.WeightsManifestEntry[]));
  }
  const take = (name: string): Float32Array => {
    const t = tensors[name];
    if (!t) throw new InputError(`${manifestFile}: weight "${name}" is missing`);
    return t.dataSync() as Float32Array;
  };
  let totalParameters = 0;
  for (const t of Object.values(tensors)) totalParameters += t.size;
  const genderWeights = take('fc/gender/weights');
  const genderBias = take('fc/gender/bias');
  const ageWeights = take('fc/age/weights');
  const ageBias = take('fc/age/bias');
  const fcParameters = genderWeights.length + genderBias.length + ageWeights.length + ageBias.length;
  return { tensors, genderWeights, genderBias, ageWeights, ageBias, totalParameters, fcParameters };
}

function get(w: tf.NamedTensorMap, name: string): tf.Tensor {
  const t = w[name];
  if (!t) throw new Error(`face-api age/gender weights: "${name}" is missing`);
  return t;
}

function conv(w: tf.NamedTensorMap, x: tf.Tensor4D, prefix: string, stride: 1 | 2): tf.Tensor4D {
  return tf.add(tf.conv2d(x, get(w, `${prefix}/filters`) as tf.Tensor4D, stride, 'same'), get(w, `${prefix}/bias`));
}

function separable(w: tf.NamedTensorMap, x: tf.Tensor4D, prefix: string): tf.Tensor4D {
  const out = tf.separableConv2d(
    x,
    get(w, `${prefix}/depthwise_filter`) as tf.Tensor4D,
    get(w, `${prefix}/pointwise_filter`) as tf.Tensor4D,
    1,
    'same',
  );
  return tf.add(out, get(w, `${prefix}/bias`));
}

function reductionBlock(w: tf.NamedTensorMap, x: tf.Tensor4D, prefix: string, activateInput: boolean): tf.Tensor4D {
  let out = activateInput ? tf.relu(x) : x;
  out = separable(w, out, `${prefix}/separable_conv0`);
  out = separable(w, tf.relu(out), `${prefix}/separable_conv1`);
  out = tf.maxPool(out, [3, 3], [2, 2], 'same');
  return tf.add(out, conv(w, x, `${prefix}/expansion_conv`, 2));
}

function mainBlock(w: tf.NamedTensorMap, x: tf.Tensor4D, prefix: string): tf.Tensor4D {
  let out = separable(w, tf.relu(x), `${prefix}/separable_conv0`);
  out = separable(w, tf.relu(out), `${prefix}/separable_conv1`);
  out = separable(w, tf.relu(out), `${prefix}/separable_conv2`);
  return tf.add(out, x);
}

/**
 * The 512-d bottleneck of `count` images given as RGB values (count x 112 x 112 x 3, 0..255: bytes, or floats
 * used as they are). Returns a new Float32Array, row-major count x 512.
 */
export async function faceBottleneck(w: tf.NamedTensorMap, rgb: Uint8Array | Float32Array, count: number): Promise<Float32Array> {
  const s = FACE_INPUT_SIZE;
  const n = count * s * s;
  if (rgb.length !== n * 3) throw new Error(`faceBottleneck: expected ${n * 3} bytes, received ${rgb.length}`);
  const input = new Float32Array(n * 3);
  const [mr, mg, mb] = FACE_MEAN_RGB;
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    input[i] = ((rgb[i] as number) - mr) / 255;
    input[i + 1] = ((rgb[i + 1] as number) - mg) / 255;
    input[i + 2] = ((rgb[i + 2] as number) - mb) / 255;
  }
  const out = tf.tidy(() => {
    const x = tf.tensor4d(input, [count, s, s, 3]);
    let h = tf.relu(conv(w, x, 'entry_flow/conv_in', 2));
    h = reductionBlock(w, h, 'entry_flow/reduction_block_0', false);
    h = reductionBlock(w, h, 'entry_flow/reduction_block_1', true);
    h = mainBlock(w, h, 'middle_flow/main_block_0');
    h = mainBlock(w, h, 'middle_flow/main_block_1');
    h = reductionBlock(w, h, 'exit_flow/reduction_block', true);
    h = tf.relu(separable(w, h, 'exit_flow/separable_conv'));
    return tf.mean(h, [1, 2]);
  });
  try {
    return new Float32Array(await out.data());
  } finally {
    out.dispose();
  }
}
