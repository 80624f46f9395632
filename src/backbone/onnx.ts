/**
 * `onnx:FILE`: any ONNX classifier as a frozen backbone, run with onnxruntime-node.
 *
 * The embedding is the input of the classifier's final linear layer, found automatically (the last Gemm or
 * MatMul(+Add) with constant weights feeding a graph output, possibly through Softmax or Sigmoid) or named with
 * `embeddingNode`. The original layer's weights are read from the graph too (Gemm transB, alpha and beta applied):
 * `shippedHead` reproduces the model's own predictions from the embedding, the "shipped" baseline.
 *
 * Loading only parses protobuf data and hands the bytes to onnxruntime: nothing in the file is executed as code
 * (no custom-op libraries are registered).
 */
import { FairheadError, InputError, ShapeError } from '../errors.ts';
import type { Matrix } from '../data/matrix.ts';
import { LinearHead } from '../head/linear-head.ts';
import type { Backbone } from './backbone.ts';
import {
  decodeModel,
  findFinalLinearLayer,
  floatParameterCount,
  metadataClasses,
  modelInput,
  onnx,
  readModelBytes,
  type FinalLinearLayer,
  type GraphProto,
} from './_internal/onnx-graph.ts';
import { createSession, ort } from './_internal/onnx-session.ts';

/** Options of {@link loadOnnxBackbone}. */
export interface OnnxBackboneOptions {
  /** Tensor (or node, meaning its first output) entering the final linear layer; default: found automatically. */
  embeddingNode?: string;
  /** onnxruntime intra-op threads; default: onnxruntime's choice (one per core). */
  threads?: number;
  /** Rows per onnxruntime run (default 256; a model with a fixed batch size uses that size). */
  batchSize?: number;
}

/** A frozen ONNX classifier cut at its final linear layer. */
export interface OnnxBackbone extends Backbone {
  readonly kind: 'onnx';
  /** The model file. */
  readonly file: string;
  /** Name of the model's input tensor. */
  readonly inputName: string;
  /** The input's dimensions: numbers are fixed, strings name dynamic ones (the batch, e.g. `N`). */
  readonly inputShape: readonly (number | string)[];
  /** Values per input row: the product of the input's dimensions after the batch (e.g. C*H*W). */
  readonly inputFeatures: number;
  readonly embeddingDim: number;
  /** The tensor used as the embedding (the input of the final linear layer). */
  readonly embeddingNode: string;
  /** Floating-point parameters of the model, excluding the final linear layer's. */
  readonly parameterCount: number;
  /** The model's own final layer as a LinearHead (2 softmax outputs become the equivalent 1 logit: w1 - w0). */
  readonly shippedHead: LinearHead;
  /** Class names from the model's metadata (`classes`, `labels` or `class_labels`), when present. */
  readonly classes?: readonly string[];
  /**
   * Embeddings of the rows of `x` (`x.rows x inputFeatures`; for image models each row is one NCHW float32 image
   * flattened as C*H*W), run in batches: float32 `x.rows x embeddingDim`.
   */
  embed(x: Matrix): Promise<Matrix>;
  /** Release onnxruntime's session. */
  close(): Promise<void>;
}

/**
 * The shipped head of a final linear layer: 1 output = binary logit, N >= 2 outputs = softmax over N classes,
 * except 2 outputs which become the equivalent binary head (w = w1 - w0, b = b1 - b0, since
 * softmax([z0, z1])[1] = sigmoid(z1 - z0)).
 */
export function shippedHeadOf(layer: FinalLinearLayer, classes: readonly string[]): LinearHead {
  const d = layer.inputDim;
  if (layer.outputs === 2) {
    const w = new Float64Array(d);
    for (let k = 0; k < d; k++) w[k] = (layer.weights[d + k] as number) - (layer.weights[k] as number);
    return new LinearHead(classes, d, w, Float64Array.of((layer.bias[1] as number) - (layer.bias[0] as number)));
  }
  return new LinearHead(classes, d, Float64Array.from(layer.weights), Float64Array.from(layer.bias));
}

/** Number of classes a final linear layer predicts: 2 for a single logit, else one per output. */
export function classCount(layer: FinalLinearLayer): number {
  return layer.outputs === 1 ? 2 : layer.outputs;
}

/** An in-memory copy of `graph` whose only output is `tensor` (float, shape left to onnxruntime). */
function embeddingGraphBytes(bytes: Uint8Array, tensor: string): Uint8Array {
  const copy = onnx.ModelProto.decode(bytes);
  const graph = copy.graph as GraphProto;
  const known = (graph.valueInfo ?? []).find((v) => v.name === tensor);
  graph.output = [known ?? { name: tensor, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }];
  return onnx.ModelProto.encode(copy).finish();
}

/**
 * Load an ONNX classifier as a backbone.
 *
 * @example
 * const bb = await loadOnnxBackbone('model.onnx', { threads: 2 });
 * const z = await bb.embed(x);                 // x: n x bb.inputFeatures -> z: n x bb.embeddingDim
 * bb.shippedHead.predictProba(z);              // the model's own probabilities
 * await bb.close();
 *
 * Errors (one-line InputError naming the file): unreadable or corrupt file, IR version or opset newer than
 * onnxruntime-node supports, not a classifier (no final Gemm/MatMul found), unknown `embeddingNode`, an input that
 * is not float32 or has dynamic non-batch dimensions; at `embed`, data whose columns differ from `inputFeatures`.
 */
export async function loadOnnxBackbone(file: string, options: OnnxBackboneOptions = {}): Promise<OnnxBackbone> {
  if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
    throw new InputError(`batchSize: expected a positive integer, received ${options.batchSize}`);
  }
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
    throw new InputError(`threads: expected a positive integer, received ${options.threads}`);
  }
  const bytes = readModelBytes(file);
  const model = decodeModel(bytes, file);
  const graph = model.graph as GraphProto;
  const input = modelInput(graph, file);
  const layer = findFinalLinearLayer(graph, file, options.embeddingNode);
  const nClasses = classCount(layer);
  const classes = metadataClasses(model, nClasses);
  const headClasses = classes ?? Array.from({ length: nClasses }, (_, i) => String(i));
  const shippedHead = shippedHeadOf(layer, headClasses);
  const identity = layer.embeddingTensor === input.name;
  // The embedding session reports a too-new IR version or opset like the original would. Without a network in
  // front of the head (the embedding is the input), the original model is still loaded once to validate it.
  const session = await createSession(identity ? bytes : embeddingGraphBytes(bytes, layer.embeddingTensor), file, { threads: options.threads });
  if (identity) await session.release();
  const fixedBatch = typeof input.shape[0] === 'number' ? input.shape[0] : undefined;
  const batchSize = fixedBatch ?? options.batchSize ?? 256;
  const d = layer.inputDim;
  let closed = false;

  async function embed(x: Matrix): Promise<Matrix> {
    if (x.cols !== input.features) {
      throw new InputError(
        `${file}: model input "${input.name}" expects ${input.features} features per row (shape [${input.shape.join(', ')}]), the data has ${x.cols}`,
      );
    }
    if (identity) return { data: Float32Array.from(x.data), rows: x.rows, cols: d };
    if (closed) throw new FairheadError(`${file}: the backbone was closed; load it again to embed more rows`);
    const out = new Float32Array(x.rows * d);
    const f = input.features;
    for (let start = 0; start < x.rows; start += batchSize) {
      const n = Math.min(batchSize, x.rows - start);
      const rows = fixedBatch ?? n;
      let data = x.data.subarray(start * f, (start + n) * f);
      if (rows !== n) {
        const padded = new Float32Array(rows * f);
        padded.set(data);
        data = padded;
      }
      const feed = new ort.Tensor('float32', data, [rows, ...(input.shape.slice(1) as number[])]);
      const result = await session.run({ [input.name]: feed });
      const value = result[layer.embeddingTensor] as ort.Tensor | undefined;
      if (!value || value.data.length !== rows * d) {
        throw new ShapeError(`${file}: embedding "${layer.embeddingTensor}" has ${value?.data.length ?? 0} values for ${rows} rows, expected ${rows} x ${d}`);
      }
      const values = value.data as Float32Array | Float64Array;
      out.set(values instanceof Float32Array ? values.subarray(0, n * d) : Float32Array.from(values.subarray(0, n * d)), start * d);
      value.dispose();
    }
    return { data: out, rows: x.rows, cols: d };
  }

  const backbone: OnnxBackbone = {
    kind: 'onnx',
    file,
    inputName: input.name,
    inputShape: input.shape,
    inputFeatures: input.features,
    embeddingDim: d,
    embeddingNode: layer.embeddingTensor,
    parameterCount: floatParameterCount(graph, layer.constantNames),
    shippedHead,
    ...(classes ? { classes } : {}),
    embed,
    close: async () => {
      if (!identity && !closed) await session.release();
      closed = true;
    },
  };
  return backbone;
}
