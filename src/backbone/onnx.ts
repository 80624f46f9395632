/**
 * `onnx:FILE`: any ONNX classifier as a frozen backbone, run with onnxruntime-node.
 *
 * The embedding is the input of the classifier's final linear layer, found automatically (the last Gemm or
 * MatMul(+Add) with constant weights feeding a graph output, possibly through Softmax or Sigmoid) or named with
 * `embeddingNode`. The original layer's weights are read from the graph too (Gemm transB, alpha and beta applied):
 * `shippedHead` reproduces the model's own predictions from the embedding, the "shipped" baseline.
 *
 * Any number of inputs is fed by name ({@link OnnxBackbone.embedBatch}): one float tensor of rows (CSV columns, or
 * a preprocessed image), or the int64 token ids, attention mask and token types of a text model. Weights kept in
 * external data files beside the model (`model.onnx_data`, per-tensor files) are read from the model's folder.
 *
 * Loading only parses protobuf data and hands the bytes to onnxruntime: nothing in the file is executed as code
 * (no custom-op libraries are registered).
 */
import { dirname, resolve } from 'node:path';
import { sha256 } from '../hash.ts';
import { FairheadError, InputError, ShapeError } from '../errors.ts';
import type { Matrix } from '../data/matrix.ts';
import { LinearHead } from '../head/linear-head.ts';
import type { Backbone } from './backbone.ts';
import {
  decodeModel,
  findFinalLinearLayer,
  floatParameterCount,
  describeInputs,
  externalTensors,
  gatherTableRows,
  metadataClasses,
  modelInputs,
  onnx,
  modelContentId,
  readModelBytes,
  type FinalLinearLayer,
  type GraphProto,
  type ModelInput,
} from './_internal/onnx-graph.ts';

export type { ModelInput } from './_internal/onnx-graph.ts';

/** A tensor fed to a model input by name: `dims[0]` is the rows of the batch. */
export interface FeedTensor {
  readonly type: 'float32' | 'int64' | 'int32';
  readonly data: Float32Array | BigInt64Array | Int32Array;
  readonly dims: readonly number[];
}
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
  /** Every input of the model, in graph order: name, element type, dimensions (strings name dynamic ones). */
  readonly inputs: readonly ModelInput[];
  /** Name of the model's first input tensor. */
  readonly inputName: string;
  /** The first input's dimensions: numbers are fixed, strings name dynamic ones (the batch, e.g. `N`). */
  readonly inputShape: readonly (number | string)[];
  /** Values per row of the first input: the product of its dimensions after the batch (e.g. C*H*W); NaN when one is dynamic. */
  readonly inputFeatures: number;
  /** Rows of the embedding table that input `name` indexes (a text model's vocabulary), when the graph shows it. */
  vocabularyRows(name: string): number | undefined;
  /** True when some weights are in external data files beside the model. */
  readonly externalData: boolean;
  /**
   * The model by content, for caches and manifests: `sha256:` and a digest of the model file and its external data
   * files (computed on first call: it reads them all).
   */
  contentId(): string;
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
   * flattened as C*H*W), run in batches: float32 `x.rows x embeddingDim`. Only for a model with one float input of
   * fixed size after the batch (InputError listing the inputs otherwise).
   */
  embed(x: Matrix): Promise<Matrix>;
  /**
   * Embeddings of one batch of `rows` rows given as one tensor per model input, by name (every input of the model
   * must be fed; `dims[0]` = rows). Split into runs of `batchSize` rows (or padded to a fixed batch size).
   * An onnxruntime failure on the data (e.g. a token id beyond the vocabulary) is an InputError naming the file.
   */
  embedBatch(feeds: Readonly<Record<string, FeedTensor>>, rows: number): Promise<Matrix>;
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
  const inputs = modelInputs(graph);
  if (inputs.length === 0) throw new InputError(`${file}: the model has no inputs; expected at least one feature, image or token input`);
  const first = inputs[0] as ModelInput;
  const layer = findFinalLinearLayer(graph, file, options.embeddingNode);
  const nClasses = classCount(layer);
  const classes = metadataClasses(model, nClasses);
  const headClasses = classes ?? Array.from({ length: nClasses }, (_, i) => String(i));
  const shippedHead = shippedHeadOf(layer, headClasses);
  const identity = layer.embeddingTensor === first.name && inputs.length === 1;
  const externalData = externalTensors(graph).length > 0;
  const settings = { threads: options.threads, ...(externalData ? { externalDataFolder: resolve(dirname(file)) } : {}) };
  // The embedding session reports a too-new IR version or opset like the original would. Without a network in
  // front of the head (the embedding is the input), the original model is still loaded once to validate it.
  const session = await createSession(identity ? bytes : embeddingGraphBytes(bytes, layer.embeddingTensor), file, settings);
  if (identity) await session.release();
  const fixedBatch = typeof first.shape[0] === 'number' ? first.shape[0] : undefined;
  const batchSize = fixedBatch ?? options.batchSize ?? 256;
  const d = layer.inputDim;
  let features = 1;
  for (const dim of first.shape.slice(1)) features *= typeof dim === 'number' ? dim : NaN;
  const tableRows = new Map(inputs.filter((i) => i.type.startsWith('int')).map((i) => [i.name, gatherTableRows(graph, i.name)]));
  let closed = false;

  /** Run one batch of `rows` rows and write the embeddings of its first `n` rows into `out` from row `start`. */
  async function runOnce(feeds: Readonly<Record<string, FeedTensor>>, rows: number, out: Float32Array, start: number, n: number): Promise<void> {
    const feed: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) feed[name] = new ort.Tensor(t.type, t.data, [...t.dims]);
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await session.run(feed);
    } catch (error) {
      const message = String((error as Error).message ?? error).replace(/\s+/g, ' ').replace(/^\S+\.(?:cc|h):\d+ \S+ /, '');
      throw new InputError(`${file}: onnxruntime cannot run the model on this data (${message.slice(0, 300)}); expected inputs ${describeInputs(inputs)}`);
    }
    const value = result[layer.embeddingTensor] as ort.Tensor | undefined;
    if (!value || value.data.length !== rows * d) {
      throw new ShapeError(`${file}: embedding "${layer.embeddingTensor}" has ${value?.data.length ?? 0} values for ${rows} rows, expected ${rows} x ${d}`);
    }
    out.set((value.data as Float32Array | Float64Array).subarray(0, n * d), start * d);
    value.dispose();
  }

  async function embedBatch(feeds: Readonly<Record<string, FeedTensor>>, rows: number): Promise<Matrix> {
    const missing = inputs.filter((i) => feeds[i.name] === undefined);
    const unknown = Object.keys(feeds).filter((k) => !inputs.some((i) => i.name === k));
    if (missing.length > 0 || unknown.length > 0) {
      throw new InputError(`${file}: cannot tell what to feed ${missing.map((i) => `"${i.name}"`).join(', ') || unknown.map((k) => `"${k}"`).join(', ')}; the model's inputs are ${describeInputs(inputs)}`);
    }
    if (identity) {
      const x = feeds[first.name] as FeedTensor;
      return { data: Float32Array.from(x.data as Float32Array), rows, cols: d };
    }
    if (closed) throw new FairheadError(`${file}: the backbone was closed; load it again to embed more rows`);
    const out = new Float32Array(rows * d);
    for (let start = 0; start < rows; start += batchSize) {
      const n = Math.min(batchSize, rows - start);
      const runRows = fixedBatch ?? n;
      const part: Record<string, FeedTensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        const per = t.data.length / rows;
        const slice = t.data.subarray(start * per, (start + n) * per);
        let data = slice;
        if (runRows !== n) {
          data = new (slice.constructor as new (length: number) => typeof slice)(runRows * per);
          data.set(slice as never);
        }
        part[name] = { type: t.type, data, dims: [runRows, ...t.dims.slice(1)] };
      }
      await runOnce(part, runRows, out, start, n);
    }
    return { data: out, rows, cols: d };
  }

  async function embed(x: Matrix): Promise<Matrix> {
    if (inputs.length !== 1 || first.type !== 'float32' || Number.isNaN(features)) {
      throw new InputError(`${file}: rows of numbers feed one float input of fixed size; the model's inputs are ${describeInputs(inputs)}`);
    }
    if (x.cols !== features) {
      throw new InputError(
        `${file}: model input "${first.name}" expects ${features} features per row (shape [${first.shape.join(', ')}]), the data has ${x.cols}`,
      );
    }
    return embedBatch({ [first.name]: { type: 'float32', data: x.data, dims: [x.rows, ...(first.shape.slice(1) as number[])] } }, x.rows);
  }

  // the model file's digest now, from the bytes loaded (the external data files' on the first contentId())
  const ownDigest = sha256(bytes);
  let contentId: string | undefined;
  const backbone: OnnxBackbone = {
    kind: 'onnx',
    file,
    inputs,
    inputName: first.name,
    inputShape: first.shape,
    inputFeatures: features,
    vocabularyRows: (name) => tableRows.get(name),
    externalData,
    contentId: () => (contentId ??= modelContentId(ownDigest, model, file)),
    embeddingDim: d,
    embeddingNode: layer.embeddingTensor,
    parameterCount: floatParameterCount(graph, layer.constantNames),
    shippedHead,
    ...(classes ? { classes } : {}),
    embed,
    embedBatch,
    close: async () => {
      if (!identity && !closed) await session.release();
      closed = true;
    },
  };
  return backbone;
}
