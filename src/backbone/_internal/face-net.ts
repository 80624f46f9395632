/**
 * face-api's age/gender network (TinyXception, 2 main blocks) rebuilt as an ONNX graph from the weights shipped in
 * `@vladmandic/face-api` (model/age_gender_model.bin and its manifest), so that onnxruntime runs it, without
 * face-api's detector, canvas, platform set-up or tfjs. The layer order and preprocessing follow face-api's
 * src/xception/TinyXception.ts and src/ageGenderNet/AgeGenderNet.ts (v1.7.15):
 *
 *   x = (rgb - [122.782, 117.001, 104.298]) / 255            (112 x 112 x 3, rgb in 0..255)
 *   relu(conv 3x3/2) -> reduction block 0 (no input relu) -> reduction block 1 -> 2 main blocks
 *   -> exit reduction block -> relu(separable conv 256->512)  (7 x 7 x 512)
 *   bottleneck = average over the 7 x 7 positions            (face-api: avgPool 7x7 'valid' = the same 1 x 1 x 512)
 *   gender logits = bottleneck . fc/gender/weights [512, 2] + bias; index 0 = male, 1 = female
 *   (face-api: `probMale = softmax(gender)[0]`), age = bottleneck . fc/age/weights [512, 1] + bias.
 *
 *   reduction block: y = maxpool3x3/2(sep1(relu(sep0(relu?(x))))) + conv1x1/2(x)
 *   main block:      y = sep2(relu(sep1(relu(sep0(relu(x)))))) + x
 *   separable conv:  depthwise 3x3 (one filter per channel) then pointwise 1x1 + bias
 *
 * tfjs's 'same' padding puts the odd pixel at the end (bottom, right): a 3x3 stride-2 window on an even side pads
 * 0 before and 1 after; ONNX's explicit `pads` say the same. TF's filter layouts [kh, kw, cin, cout] (conv,
 * pointwise) and [kh, kw, cin, 1] (depthwise) become ONNX's [cout, cin, kh, kw] and [cin, 1, kh, kw] (group = cin).
 * The graph runs NCHW; {@link faceInput} writes the normalised input in that layout.
 *
 * The weight file is decoded here as tfjs decodes it (uint8 or uint16 quantisation: v * scale + min in double
 * precision, stored as float32; unquantised float32 as it is), so tfjs is not needed at run time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InputError } from '../../errors.ts';
import { OnnxBuilder } from '../cnn/onnx-builder.ts';

/** Side of the square face crop the net reads. */
export const FACE_INPUT_SIZE = 112;
/** Width of the bottleneck (the input of the fc layers). */
export const FACE_EMBEDDING_DIM = 512;
/** Per-channel RGB mean face-api subtracts before dividing by 255. */
export const FACE_MEAN_RGB = [122.782, 117.001, 104.298] as const;

const require = createRequire(import.meta.url);

/** One decoded weight tensor: TF's shape and its values, row-major. */
export interface FaceTensor {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** The decoded weights of the age/gender net: tensors by face-api's names, and the fc layers as plain arrays. */
export interface FaceNetWeights {
  readonly tensors: ReadonlyMap<string, FaceTensor>;
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

/** Folder holding face-api's model files. */
export function faceApiModelDir(): string {
  const pkg = require.resolve('@vladmandic/face-api/package.json');
  return join(dirname(pkg), 'model');
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

/**
 * Read and decode age_gender_model.bin with its manifest (tfjs's weights format). Throws an InputError naming the
 * file when the manifest or a weight file cannot be read, a weight has a type other than float32 (plain, or uint8 /
 * uint16 quantised), or the data ends early.
 */
export function loadFaceNetWeights(modelDir = faceApiModelDir()): FaceNetWeights {
  const manifestFile = join(modelDir, 'age_gender_model-weights_manifest.json');
  let manifest: { paths: string[]; weights: ManifestEntry[] }[];
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new InputError(`${manifestFile}: cannot read face-api's weight manifest (${(error as Error).message}); is @vladmandic/face-api installed?`);
  }
  const tensors = new Map<string, FaceTensor>();
  for (const group of manifest) {
    const data = Buffer.concat(group.paths.map((p) => readFileSync(join(modelDir, p))));
    let offset = 0;
    for (const spec of group.weights) {
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const q = spec.quantization;
      const bytesPer = q ? (q.dtype === 'uint8' ? 1 : q.dtype === 'uint16' ? 2 : 0) : 4;
      if (spec.dtype !== 'float32' || bytesPer === 0 || (q && (typeof q.scale !== 'number' || typeof q.min !== 'number'))) {
        throw new InputError(`${manifestFile}: weight "${spec.name}" is ${spec.dtype}${q ? ` quantised as ${q.dtype}` : ''}; expected float32, plain or uint8/uint16-quantised with scale and min`);
      }
      if (offset + count * bytesPer > data.length) throw new InputError(`${manifestFile}: the weight data ends inside "${spec.name}"`);
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const at = offset + i * bytesPer;
        if (!q) values[i] = data.readFloatLE(at);
        else values[i] = (bytesPer === 1 ? data[at] as number : data.readUInt16LE(at)) * (q.scale as number) + (q.min as number);
      }
      offset += count * bytesPer;
      tensors.set(spec.name, { shape: spec.shape, values });
    }
  }
  const take = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (!t) throw new InputError(`${manifestFile}: weight "${name}" is missing`);
    return t.values;
  };
  let totalParameters = 0;
  for (const t of tensors.values()) totalParameters += t.values.length;
  const genderWeights = take('fc/gender/weights');
  const genderBias = take('fc/gender/bias');
  const ageWeights = take('fc/age/weights');
  const ageBias = take('fc/age/bias');
  const fcParameters = genderWeights.length + genderBias.length + ageWeights.length + ageBias.length;
  return { tensors, genderWeights, genderBias, ageWeights, ageBias, totalParameters, fcParameters };
}

/** The graph's input: the normalised images, NCHW [N, 3, 112, 112] (see {@link faceInput}). */
export const FACE_GRAPH_INPUT = 'x';
/** The graph's output: the bottleneck, [N, 512]. */
export const FACE_GRAPH_OUTPUT = 'embedding';

/** tfjs 'same' padding of one axis: [before, after] (the odd pixel after). */
function samePads(side: number, k: number, stride: number): [number, number] {
  const out = Math.ceil(side / stride);
  const total = Math.max((out - 1) * stride + k - side, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Writes the TinyXception layers into an {@link OnnxBuilder}, tracking the side of the current maps. */
class FaceGraph {
  readonly g = new OnnxBuilder('face_api_age_gender');
  /** Multiply-adds per image of every convolution emitted so far. */
  multiplyAdds = 0;

  constructor(private readonly w: FaceNetWeights) {}

  private tensor(name: string): FaceTensor {
    const t = this.w.tensors.get(name);
    if (!t) throw new InputError(`face-api age/gender weights: "${name}" is missing`);
    return t;
  }

  /** A TF [kh, kw, cin, cout] filter as an ONNX [cout, cin, kh, kw] initializer (depthwise: [cin, 1, kh, kw]). */
  private filter(name: string, depthwise: boolean): { name: string; k: number; cin: number; cout: number } {
    const t = this.tensor(name);
    const [kh, kw, cin, m] = t.shape as [number, number, number, number];
    const cout = depthwise ? cin * m : m;
    const out = new Float32Array(t.values.length);
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        for (let i = 0; i < cin; i++) {
          for (let j = 0; j < m; j++) {
            const src = ((a * kw + b) * cin + i) * m + j;
            // depthwise: output channel i * m + j reads input channel i only
            const dst = depthwise ? ((i * m + j) * kh + a) * kw + b : ((j * cin + i) * kh + a) * kw + b;
            out[dst] = t.values[src] as number;
          }
        }
      }
    }
    return { name: this.g.weights(name, depthwise ? [cout, 1, kh, kw] : [cout, cin, kh, kw], out), k: kh, cin, cout };
  }

  private bias(name: string): string {
    const t = this.tensor(name);
    return this.g.weights(name, [t.values.length], t.values);
  }

  conv(x: string, side: number, prefix: string, stride: number): string {
    const f = this.filter(`${prefix}/filters`, false);
    const [p0, p1] = samePads(side, f.k, stride);
    const out = Math.ceil(side / stride);
    this.multiplyAdds += out * out * f.cout * f.cin * f.k * f.k;
    return this.g.node('Conv', [x, f.name, this.bias(`${prefix}/bias`)], { kernel_shape: [f.k, f.k], strides: [stride, stride], pads: [p0, p0, p1, p1] });
  }

  separable(x: string, side: number, prefix: string): string {
    const d = this.filter(`${prefix}/depthwise_filter`, true);
    const p = this.filter(`${prefix}/pointwise_filter`, false);
    const [p0, p1] = samePads(side, d.k, 1);
    this.multiplyAdds += side * side * (d.cout * d.k * d.k + p.cout * p.cin);
    const dw = this.g.node('Conv', [x, d.name], { kernel_shape: [d.k, d.k], pads: [p0, p0, p1, p1], group: d.cin });
    return this.g.node('Conv', [dw, p.name, this.bias(`${prefix}/bias`)], { kernel_shape: [1, 1] });
  }

  relu(x: string): string {
    return this.g.node('Relu', [x]);
  }

  reductionBlock(x: string, side: number, prefix: string, activateInput: boolean): string {
    let out = this.separable(activateInput ? this.relu(x) : x, side, `${prefix}/separable_conv0`);
    out = this.separable(this.relu(out), side, `${prefix}/separable_conv1`);
    const [p0, p1] = samePads(side, 3, 2);
    out = this.g.node('MaxPool', [out], { kernel_shape: [3, 3], strides: [2, 2], pads: [p0, p0, p1, p1] });
    return this.g.node('Add', [out, this.conv(x, side, `${prefix}/expansion_conv`, 2)]);
  }

  mainBlock(x: string, side: number, prefix: string): string {
    let out = this.separable(this.relu(x), side, `${prefix}/separable_conv0`);
    out = this.separable(this.relu(out), side, `${prefix}/separable_conv1`);
    out = this.separable(this.relu(out), side, `${prefix}/separable_conv2`);
    return this.g.node('Add', [out, x]);
  }
}

/** The built graph: ONNX bytes and the network's multiply-adds per image (every convolution). */
export interface FaceNetGraph {
  readonly bytes: Uint8Array;
  readonly multiplyAddsPerImage: number;
}

/**
 * The age/gender net's backbone as an ONNX model (opset 13): input {@link FACE_GRAPH_INPUT} [N, 3, 112, 112]
 * (normalised, see {@link faceInput}), output {@link FACE_GRAPH_OUTPUT} [N, 512] (the bottleneck).
 */
export function buildFaceNetGraph(weights: FaceNetWeights): FaceNetGraph {
  const f = new FaceGraph(weights);
  const s = FACE_INPUT_SIZE;
  const x = f.g.input(FACE_GRAPH_INPUT, ['N', 3, s, s]);
  let h = f.relu(f.conv(x, s, 'entry_flow/conv_in', 2));
  let side = s / 2;
  h = f.reductionBlock(h, side, 'entry_flow/reduction_block_0', false);
  side /= 2;
  h = f.reductionBlock(h, side, 'entry_flow/reduction_block_1', true);
  side /= 2;
  h = f.mainBlock(h, side, 'middle_flow/main_block_0');
  h = f.mainBlock(h, side, 'middle_flow/main_block_1');
  h = f.reductionBlock(h, side, 'exit_flow/reduction_block', true);
  side /= 2;
  h = f.relu(f.separable(h, side, 'exit_flow/separable_conv'));
  f.g.node('Flatten', [f.g.node('GlobalAveragePool', [h])], { axis: 1 }, [FACE_GRAPH_OUTPUT]);
  f.g.output(FACE_GRAPH_OUTPUT);
  return { bytes: f.g.toBytes(), multiplyAddsPerImage: f.multiplyAdds };
}

/**
 * The net's input from `count` images of RGB values (count x 112 x 112 x 3, HWC, 0..255: bytes, or floats used as
 * they are): (v - mean) / 255 per channel, computed in double precision, written NCHW into `out` (or a new array).
 */
export function faceInput(rgb: Uint8Array | Float32Array, count: number, out: Float32Array = new Float32Array(count * 3 * FACE_INPUT_SIZE * FACE_INPUT_SIZE)): Float32Array {
  const plane = FACE_INPUT_SIZE * FACE_INPUT_SIZE;
  if (rgb.length < count * plane * 3) throw new Error(`faceInput: expected ${count * plane * 3} values, received ${rgb.length}`);
  const [mr, mg, mb] = FACE_MEAN_RGB;
  for (let n = 0; n < count; n++) {
    const src = n * plane * 3;
    const dst = n * plane * 3;
    for (let p = 0; p < plane; p++) {
      const i = src + 3 * p;
      out[dst + p] = ((rgb[i] as number) - mr) / 255;
      out[dst + plane + p] = ((rgb[i + 1] as number) - mg) / 255;
      out[dst + 2 * plane + p] = ((rgb[i + 2] as number) - mb) / 255;
    }
  }
  return out;
}
