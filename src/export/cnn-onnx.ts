/**
 * Export a `cnn` model (the small ResNet of src/backbone/cnn.ts with a fair {@link LinearHead} on its embedding) as
 * one self-contained ONNX file: image bytes in, the fair head's probabilities and class out, every weight inside.
 *
 * Input `image`: uint8 `[N, S, S, 3]`, RGB bytes, row-major HWC (height, width, channel), S = the model's image size
 * (metadata `image_size`). These are exactly the bytes fairhead decodes an image file into (src/data/images.ts,
 * `decodeImage`): to get the library's numbers, a caller must
 *   1. decode the file and apply its EXIF orientation,
 *   2. resize it to S x S keeping the aspect ratio, centred, padded with black (sharp `fit: 'contain'`,
 *      background 0,0,0; sharp's default Lanczos-3 kernel),
 *   3. drop any alpha channel, convert to sRGB, and hand over the raw bytes, R G B per pixel, rows top to bottom.
 * With sharp: `sharp(file).autoOrient().resize(S, S, { fit: 'contain', background: { r: 0, g: 0, b: 0 } })
 * .removeAlpha().toColourspace('srgb').raw().toBuffer()`. Another resizer (PIL, OpenCV) gives slightly different
 * bytes and so slightly different probabilities. Everything after that is in the graph: each byte v becomes
 * (v / 255 - 0.5) / 0.25, channels first (NCHW), then the network.
 *
 * Graph: the network of src/backbone/cnn/network.ts in inference mode — Conv (no bias) + BatchNormalization on the
 * running statistics (epsilon 1e-5), ReLU, 2x2 max pool, basic residual blocks (1x1 strided convolution + BN on the
 * shortcut when the shape changes), global average pool — whose 128-value (`channels[last]`) embedding feeds the
 * fair head instead of the network's own last layer. The weights are float32 initializers named as in the model's
 * backbone.json (`stem_conv`, `s0_bn1_mean`, ...).
 *
 * Outputs:
 * - `probabilities`: float32 `[N, K]`, K = the number of classes (metadata `classes`, a JSON array). A binary head
 *   (one logit z = w.e + b) is written as two logits [0, z] and a Softmax, which is [1 - sigmoid(z), sigmoid(z)],
 *   exactly LinearHead.predictProba; a K-class head as K logits and a Softmax.
 * - `label`: int64 `[N]`, the predicted class index into `classes`: binary, 1 when P(class 1) >= the model's
 *   threshold (metadata `threshold`, 0.5 from `fairhead run`), as `fairhead predict`; K classes, the first
 *   largest probability.
 */
import onnxProto from 'onnx-proto';
import { InputError } from '../errors.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import type { CnnBackbone, CnnBackboneJSON } from '../backbone/cnn.ts';
import type { LinearHead } from '../head/linear-head.ts';
import { createSession } from '../backbone/_internal/onnx-session.ts';
import { exportedHeadWeights } from './onnx-export.ts';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

/** Names of the exported graph's input and outputs. */
export const CNN_ONNX_INPUT = 'image';
export const CNN_ONNX_PROBABILITIES = 'probabilities';
export const CNN_ONNX_LABEL = 'label';

/** Options of {@link buildCnnOnnx} and {@link exportCnnOnnx}. */
export interface CnnOnnxOptions {
  /** Binary heads: P(class 1) at or above this is class 1 (default 0.5, as LinearHead.predict). */
  readonly threshold?: number;
  /** Named in error messages (default "cnn model"). */
  readonly source?: string;
}

/** Collects the nodes and float32 initializers of one graph. */
class GraphWriter {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private counter = 0;

  /** A float32 initializer `name` of shape `dims`. */
  floats(name: string, values: ArrayLike<number>, dims: readonly number[]): string {
    const a = Float32Array.from(values as ArrayLike<number>);
    this.initializers.push({ name, dataType: DT.FLOAT, dims: [...dims], rawData: new Uint8Array(a.buffer) });
    return name;
  }

  /** Add a node; its output is `output` or a fresh name. */
  node(op: string, inputs: readonly string[], attributes: Record<string, number | readonly number[] | { float: number }> = {}, output?: string): string {
    this.counter++;
    const out = output ?? `${op.toLowerCase()}_${this.counter}`;
    this.nodes.push({
      opType: op,
      name: `${op}_${this.counter}`,
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attributes).map(([name, v]) => {
        if (typeof v === 'number') return { name, type: AT.INT, i: v };
        if (Array.isArray(v)) return { name, type: AT.INTS, ints: [...(v as number[])] };
        return { name, type: AT.FLOAT, f: (v as { float: number }).float };
      }),
    });
    return out;
  }
}

/**
 * The ONNX model bytes of `backbone` (or its JSON form) with `head` on its embedding (see the module comment).
 *
 * Errors (InputError, naming `options.source`): a head whose inputDim is not the backbone's embedding size, a
 * threshold outside [0, 1], a backbone JSON without a tensor or running statistic the architecture needs.
 *
 * @example
 * const bytes = buildCnnOnnx(backbone, fairHead);
 * // onnxruntime: { image: uint8 [N, 32, 32, 3] } -> probabilities [N, 2] = fairHead.predictProba(await backbone.embed(x))
 */
export function buildCnnOnnx(backbone: CnnBackbone | CnnBackboneJSON, head: LinearHead, options: CnnOnnxOptions = {}): Uint8Array {
  const json: CnnBackboneJSON = 'toJSON' in backbone ? backbone.toJSON() : backbone;
  const source = options.source ?? 'cnn model';
  const threshold = options.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw new InputError(`${source}: threshold should be a number in [0, 1], received ${threshold}`);
  const channels = json.channels;
  const size = json.size;
  const embeddingDim = channels[channels.length - 1] as number;
  if (head.inputDim !== embeddingDim) {
    throw new InputError(`${source}: the head expects ${head.inputDim} embedding values, the CNN's embedding has ${embeddingDim} (channels ${channels.join(', ')}); expected a head trained on this CNN's embeddings`);
  }
  const tensor = (name: string): readonly number[] => {
    const t = json.tensors[name];
    if (!t) throw new InputError(`${source}: the CNN backbone has no tensor "${name}"`);
    return t;
  };
  const g = new GraphWriter();
  const conv = (x: string, name: string, cin: number, cout: number, k: number, stride: number): string => {
    const w = g.floats(name, tensor(name), [cout, cin, k, k]);
    const pad = (k - 1) / 2;
    return g.node('Conv', [x, w], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] });
  };
  const bn = (x: string, name: string, c: number): string => {
    const stats = json.runningStats[name];
    if (!stats) throw new InputError(`${source}: the CNN backbone has no running statistics for "${name}"`);
    const inputs = [
      g.floats(`${name}_scale`, tensor(`${name}_g`), [c]),
      g.floats(`${name}_bias`, tensor(`${name}_b`), [c]),
      g.floats(`${name}_mean`, stats.mean, [c]),
      g.floats(`${name}_var`, stats.variance, [c]),
    ];
    return g.node('BatchNormalization', [x, ...inputs], { epsilon: { float: 1e-5 } });
  };

  // bytes [N, S, S, 3] -> (v / 255 - 0.5) / 0.25 = v * (4 / 255) - 2, NCHW
  const asFloat = g.node('Cast', [CNN_ONNX_INPUT], { to: DT.FLOAT });
  const nchw = g.node('Transpose', [asFloat], { perm: [0, 3, 1, 2] });
  let x = g.node('Add', [g.node('Mul', [nchw, g.floats('pixel_scale', [4 / 255], [])]), g.floats('pixel_shift', [-2], [])]);

  const c0 = channels[0] as number;
  x = g.node('MaxPool', [g.node('Relu', [bn(conv(x, 'stem_conv', 3, c0, 3, 1), 'stem_bn', c0)])], { kernel_shape: [2, 2], strides: [2, 2] });
  let cin = c0;
  channels.forEach((cout, s) => {
    const stride = s === 0 ? 1 : 2;
    let y = g.node('Relu', [bn(conv(x, `s${s}_conv1`, cin, cout, 3, stride), `s${s}_bn1`, cout)]);
    y = bn(conv(y, `s${s}_conv2`, cout, cout, 3, 1), `s${s}_bn2`, cout);
    const shortcut = stride !== 1 || cin !== cout ? bn(conv(x, `s${s}_down`, cin, cout, 1, stride), `s${s}_downbn`, cout) : x;
    x = g.node('Relu', [g.node('Add', [y, shortcut])]);
    cin = cout;
  });
  const embedding = g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: 1 }, 'embedding');

  const { weights, bias, outputs } = exportedHeadWeights(head, 2);
  const logits = g.node('Gemm', [embedding, g.floats('fairhead_head_weight', weights, [outputs, embeddingDim]), g.floats('fairhead_head_bias', bias, [outputs])], { transB: 1 }, 'logits');
  const probabilities = g.node('Softmax', [logits], { axis: 1 }, CNN_ONNX_PROBABILITIES);
  if (head.classes.length === 2) {
    const p1 = g.node('Gather', [probabilities, ints(g, 'class_1', [1])], { axis: 1 });
    const positive = g.node('GreaterOrEqual', [p1, g.floats('threshold', [threshold], [])]);
    const flat = g.node('Reshape', [g.node('Cast', [positive], { to: DT.INT64 }), ints(g, 'flat', [-1])]);
    g.node('Identity', [flat], {}, CNN_ONNX_LABEL);
  } else {
    g.node('ArgMax', [probabilities], { axis: 1, keepdims: 0, select_last_index: 0 }, CNN_ONNX_LABEL);
  }

  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'fairhead',
    opsetImport: [{ domain: '', version: 13 }],
    docString: `fairhead cnn model: uint8 image [N, ${size}, ${size}, 3] (RGB, HWC; decoded and resized as fairhead does) -> probabilities [N, ${head.classes.length}], label [N].`,
    metadataProps: [
      { key: 'classes', value: JSON.stringify(head.classes) },
      { key: 'threshold', value: String(threshold) },
      { key: 'image_size', value: String(size) },
      {
        key: 'preprocessing',
        value: `decode, apply EXIF orientation, resize to ${size}x${size} with fit "contain" (aspect kept, black padding, Lanczos-3 as sharp), drop alpha, sRGB; feed the raw RGB bytes as uint8 [N, ${size}, ${size}, 3]. The graph normalises each byte v to (v / 255 - 0.5) / 0.25.`,
      },
    ],
    graph: {
      name: 'fairhead_cnn',
      node: g.nodes,
      initializer: g.initializers,
      input: [{ name: CNN_ONNX_INPUT, type: { tensorType: { elemType: DT.UINT8, shape: { dim: [{ dimParam: 'N' }, { dimValue: size }, { dimValue: size }, { dimValue: 3 }] } } } }],
      output: [
        { name: CNN_ONNX_PROBABILITIES, type: { tensorType: { elemType: DT.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: head.classes.length }] } } } },
        { name: CNN_ONNX_LABEL, type: { tensorType: { elemType: DT.INT64, shape: { dim: [{ dimParam: 'N' }] } } } },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function ints(g: GraphWriter, name: string, values: readonly number[]): string {
  g.initializers.push({ name, dataType: DT.INT64, dims: [values.length], int64Data: [...values] });
  return name;
}

/**
 * Write `outFile`: the self-contained ONNX model of {@link buildCnnOnnx}, checked by loading it in onnxruntime
 * before the atomic write (nothing is written on an error).
 *
 * @example
 * await exportCnnOnnx(model.cnn, model.head, 'fair.onnx', { threshold: 0.5 });
 */
export async function exportCnnOnnx(backbone: CnnBackbone | CnnBackboneJSON, head: LinearHead, outFile: string, options: CnnOnnxOptions = {}): Promise<void> {
  const bytes = buildCnnOnnx(backbone, head, options);
  const check = await createSession(bytes, outFile, { threads: 1 });
  await check.release();
  writeFileAtomic(outFile, bytes);
}
