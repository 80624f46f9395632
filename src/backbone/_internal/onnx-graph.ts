/**
 * Reading an ONNX graph with onnx-proto: decoding (never evaluating anything), constant tensors, the model's
 * input, and the final linear layer of a classifier (the layer whose input is the embedding).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import onnxProto from 'onnx-proto';
import { InputError } from '../../errors.ts';
import { sha256, sha256OfFile } from '../../hash.ts';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

const DT = onnx.TensorProto.DataType;
const FLOATING_TYPES: ReadonlySet<number> = new Set([DT.FLOAT, DT.DOUBLE, DT.FLOAT16, DT.BFLOAT16]);

/** A protobuf int64 (number or Long) as a JS number. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** Read `file` as bytes; a missing or unreadable file is an InputError naming it. */
export function readModelBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new InputError(`${file}: cannot read the ONNX model (${code}); expected a readable .onnx file`);
  }
}

/**
 * Decode ONNX protobuf bytes. Pure data parsing: nothing in the file is executed.
 * Corrupt or non-ONNX bytes give a one-line InputError naming `file`.
 */
export function decodeModel(bytes: Uint8Array, file: string): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new InputError(`${file}: not a valid ONNX model (corrupt or truncated protobuf: ${(error as Error).message}); expected a .onnx file`);
  }
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0 || (graph.output ?? []).length === 0) {
    throw new InputError(`${file}: not a valid ONNX model (no graph with nodes and outputs); expected a .onnx file`);
  }
  checkExternalData(model, file);
  return model;
}

/** Where one tensor's bytes are in an external data file (ONNX's `external_data` entries). */
export interface ExternalRange {
  /** The file, as written in the model (relative to the model's folder). */
  readonly location: string;
  /** Absolute path of the file. */
  readonly path: string;
  readonly offset: number;
  /** Bytes; undefined means to the end of the file. */
  readonly length: number | undefined;
}

/** True when `t` keeps its values in an external file. */
export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
}

/**
 * The external data range of tensor `t` of model `file`. The location must be a relative path inside the model's
 * folder (no absolute path, no ".."): a model may not make fairhead read files elsewhere. InputError naming the
 * tensor otherwise.
 */
export function externalRange(t: TensorProto, file: string): ExternalRange {
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location') ?? '';
  const name = t.name ?? '';
  if (location === '' || isAbsolute(location) || normalize(location).split(/[\\/]/).includes('..')) {
    throw new InputError(`${file}: tensor "${name}" names external data "${location}"; expected a file name relative to the model's folder (no absolute path, no "..")`);
  }
  const dir = resolve(dirname(file));
  const path = join(dir, location);
  if (!path.startsWith(dir + sep)) throw new InputError(`${file}: tensor "${name}" names external data "${location}" outside the model's folder`);
  const offset = Number(entries.get('offset') ?? '0');
  const lengthText = entries.get('length');
  const length = lengthText === undefined ? undefined : Number(lengthText);
  if (!(Number.isInteger(offset) && offset >= 0) || (length !== undefined && !(Number.isInteger(length) && length >= 0))) {
    throw new InputError(`${file}: tensor "${name}" has external data offset "${entries.get('offset') ?? ''}" / length "${lengthText ?? ''}"; expected non-negative integers`);
  }
  return { location, path, offset, length };
}

/**
 * Check every external data reference of `model` (loaded from `file`): a safe location (see {@link externalRange}),
 * a file that exists, a range inside it. Returns the distinct files, empty for a self-contained model.
 * Errors: InputError naming the tensor and the file (`model.onnx: tensor "W" is stored in "model.onnx_data", which
 * is missing beside the model; expected the model's external data file(s) in its folder`).
 */
export function checkExternalData(model: ModelProto, file: string): string[] {
  const files = new Map<string, number>();
  for (const t of externalTensors(model.graph as GraphProto)) {
    const r = externalRange(t, file);
    let size = files.get(r.path);
    if (size === undefined) {
      try {
        const fd = openSync(r.path, 'r');
        size = fstatSync(fd).size;
        closeSync(fd);
      } catch {
        throw new InputError(`${file}: tensor "${t.name ?? ''}" is stored in "${r.location}", which is missing beside the model; expected the model's external data file(s) in its folder`);
      }
      files.set(r.path, size);
    }
    if (r.offset + (r.length ?? 0) > size) {
      throw new InputError(`${file}: tensor "${t.name ?? ''}" reads bytes ${r.offset}..${r.offset + (r.length ?? 0)} of "${r.location}", which has ${size}; expected the external data file saved with this model`);
    }
  }
  return [...files.keys()];
}

/**
 * What identifies a model by content: `sha256:` and `own` (the SHA-256 of the model file's bytes) when the file holds
 * all its weights, else the SHA-256 of `own` and each external data file's (with its location, sorted): a model
 * re-saved with other weights under the same names gets another id, the same model copied elsewhere keeps its id.
 */
export function modelContentId(own: string, model: ModelProto, file: string): string {
  const external = checkExternalData(model, file);
  if (external.length === 0) return `sha256:${own}`;
  const dir = resolve(dirname(file));
  const parts = external.map((path) => `${relative(dir, path)}:${sha256OfFile(path)}`).sort();
  return `sha256:${sha256([own, ...parts].join('\n'))}`;
}

/** Initializers and Constant-node tensors of a graph whose values are in external files. */
export function externalTensors(graph: GraphProto): TensorProto[] {
  const out = (graph.initializer ?? []).filter(isExternal);
  for (const n of graph.node ?? []) {
    const t = n.attribute?.find((a) => a.name === 'value')?.t;
    if (n.opType === 'Constant' && t && isExternal(t)) out.push(t);
  }
  return out;
}

/** The bytes of an external tensor, read from its file. */
export function readExternalBytes(t: TensorProto, file: string): Uint8Array {
  const r = externalRange(t, file);
  const fd = openSync(r.path, 'r');
  try {
    const length = r.length ?? fstatSync(fd).size - r.offset;
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, r.offset + done);
      if (n === 0) break;
      done += n;
    }
    return out.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Number of elements of a tensor with `dims`. */
export function elementCount(dims: readonly (number | { toNumber(): number })[]): number {
  let n = 1;
  for (const d of dims) n *= toNumber(d);
  return n;
}

/** The values of a floating-point tensor (float32, float64, float16 or bfloat16) as float64, row-major. */
export function tensorValues(t: TensorProto, file: string): Float64Array {
  const count = elementCount(t.dims ?? []);
  const type = t.dataType ?? 0;
  const raw = isExternal(t) ? readExternalBytes(t, file) : t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  let out: Float64Array;
  if (type === DT.FLOAT) {
    out = raw ? Float64Array.from(readRaw(raw, 4, (v, o) => v.getFloat32(o, true))) : Float64Array.from(t.floatData ?? []);
  } else if (type === DT.DOUBLE) {
    out = raw ? Float64Array.from(readRaw(raw, 8, (v, o) => v.getFloat64(o, true))) : Float64Array.from(t.doubleData ?? []);
  } else if (type === DT.FLOAT16 || type === DT.BFLOAT16) {
    const decode = type === DT.FLOAT16 ? halfToFloat : (bits: number) => bfloatToFloat(bits);
    const bits = raw ? readRaw(raw, 2, (v, o) => v.getUint16(o, true)) : (t.int32Data ?? []);
    out = Float64Array.from(bits, (b) => decode(b));
  } else {
    throw new InputError(`${file}: tensor "${t.name ?? ''}" has element type ${DT[type] ?? type}; expected a floating-point tensor (float, double, float16)`);
  }
  if (out.length !== count) {
    throw new InputError(`${file}: tensor "${t.name ?? ''}" holds ${out.length} values, its shape [${(t.dims ?? []).map(toNumber).join(', ')}] needs ${count}`);
  }
  return out;
}

function readRaw(raw: Uint8Array, size: number, get: (v: DataView, offset: number) => number): number[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Array<number>(Math.floor(raw.byteLength / size));
  for (let i = 0; i < out.length; i++) out[i] = get(view, i * size);
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function bfloatToFloat(b: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, (b & 0xffff) << 16);
  return view.getFloat32(0);
}

/** Constant tensors of a graph by name: initializers and outputs of Constant nodes with a tensor `value`. */
export function constantTensors(graph: GraphProto): Map<string, TensorProto> {
  const out = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) if (t.name) out.set(t.name, t);
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Constant') continue;
    const value = n.attribute?.find((a) => a.name === 'value')?.t;
    const name = n.output?.[0];
    if (value && name) out.set(name, value);
  }
  return out;
}

/** One input of the model (a graph input that is not an initializer). */
export interface ModelInput {
  readonly name: string;
  /** Element type as onnxruntime names it: `float32`, `int64`, `int32`, ... (`tensor` type name otherwise). */
  readonly type: string;
  /** Dimensions: numbers are fixed, strings name a dynamic dimension (e.g. the batch `N`, or `?` when unnamed). */
  readonly shape: readonly (number | string)[];
}

const ORT_TYPES: Readonly<Record<number, string>> = {
  [DT.FLOAT]: 'float32',
  [DT.DOUBLE]: 'float64',
  [DT.FLOAT16]: 'float16',
  [DT.INT64]: 'int64',
  [DT.INT32]: 'int32',
  [DT.INT8]: 'int8',
  [DT.UINT8]: 'uint8',
  [DT.BOOL]: 'bool',
  [DT.STRING]: 'string',
};

/** The model's inputs, in graph order (initializers listed as inputs, as IR < 4 does, are left out). */
export function modelInputs(graph: GraphProto): ModelInput[] {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  return (graph.input ?? [])
    .filter((i) => !inits.has(i.name ?? ''))
    .map((input) => {
      const tensor = input.type?.tensorType;
      const type = tensor ? (ORT_TYPES[tensor.elemType ?? 0] ?? String(DT[tensor.elemType ?? 0] ?? tensor.elemType).toLowerCase()) : 'non-tensor';
      const dims = tensor?.shape?.dim ?? [];
      const shape = dims.map((d, i) => (d.dimValue !== null && d.dimValue !== undefined && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : d.dimParam || (i === 0 ? 'N' : '?')));
      return { name: input.name ?? '', type, shape };
    });
}

/** `"input_ids" int64 [batch, sequence], "attention_mask" int64 [batch, sequence]`: for messages. */
export function describeInputs(inputs: readonly ModelInput[]): string {
  return inputs.map((i) => `"${i.name}" ${i.type} [${i.shape.join(', ')}]`).join(', ');
}

/** A single float input with fixed sizes after the batch: what a row of numeric features feeds. */
export interface FeatureInput extends ModelInput {
  /** Values per row: the product of all dimensions but the first. */
  readonly features: number;
}

/**
 * Check that the model takes one float tensor of rows with fixed non-batch dimensions (a row of numeric
 * features, or a flattened fixed-size image) and return it; InputError naming `file` and the inputs otherwise.
 */
export function featureInput(inputs: readonly ModelInput[], file: string): FeatureInput {
  if (inputs.length !== 1) {
    throw new InputError(`${file}: the model has ${inputs.length} inputs (${describeInputs(inputs)}); expected exactly one feature input (a text model needs --text-column)`);
  }
  const input = inputs[0] as ModelInput;
  const { name, shape } = input;
  if (input.type !== 'float32') {
    throw new InputError(`${file}: model input "${name}" has element type ${input.type}; expected float (float32 features)${input.type.startsWith('int') ? ' (token ids? give --text-column and a tokenizer.json)' : ''}`);
  }
  if (shape.length < 2) {
    throw new InputError(`${file}: model input "${name}" has ${shape.length} dimensions; expected [batch, features...] (at least 2)`);
  }
  let features = 1;
  for (let i = 1; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number') {
      throw new InputError(`${file}: model input "${name}" has a dynamic dimension ${i} ("${String(d)}") in shape [${shape.join(', ')}]; expected fixed sizes after the batch dimension`);
    }
    features *= d;
  }
  return { ...input, features };
}

/**
 * Rows of the embedding table that `input` indexes: the constant first input of a Gather node whose indices are
 * `input` (directly or through a Cast), e.g. BERT's word embeddings fed by `input_ids`; undefined when not found.
 */
export function gatherTableRows(graph: GraphProto, input: string): number | undefined {
  const consts = constantTensors(graph);
  const names = new Set([input]);
  for (const n of graph.node ?? []) if (n.opType === 'Cast' && names.has(n.input?.[0] ?? '')) names.add(n.output?.[0] ?? '');
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Gather' || !names.has(n.input?.[1] ?? '')) continue;
    const table = consts.get(n.input?.[0] ?? '');
    const rows = table?.dims?.[0];
    if (rows !== undefined) return toNumber(rows);
  }
  return undefined;
}

/** What follows the final linear layer before the graph output. */
export type HeadActivation = 'softmax' | 'sigmoid' | 'none';

/** The final linear layer of a classifier, read from the graph. */
export interface FinalLinearLayer {
  /** The tensor entering the layer: the embedding. */
  readonly embeddingTensor: string;
  /** The nodes computing the logits: one Gemm, or MatMul then Add, or a MatMul alone. */
  readonly nodes: readonly NodeProto[];
  /** The tensor the layer produces (the logits). */
  readonly logitsTensor: string;
  readonly activation: HeadActivation;
  readonly activationNode: NodeProto | undefined;
  /** The graph output fed by the layer (through the activation, if any). */
  readonly outputTensor: string;
  /** Names of the constant tensors holding the layer's weights and bias. */
  readonly constantNames: readonly string[];
  readonly inputDim: number;
  readonly outputs: number;
  /** Effective weights, row-major `outputs x inputDim`: logits = weights x + bias (Gemm alpha/beta/transB applied). */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
}

function describeNode(n: NodeProto | undefined): string {
  if (!n) return 'no node (it is a graph input)';
  return `${n.opType ?? '?'} node "${n.name || n.output?.[0] || ''}"`;
}

function attrInt(n: NodeProto, name: string, fallback: number): number {
  const a = n.attribute?.find((x) => x.name === name);
  return a ? toNumber(a.i) : fallback;
}

function attrFloat(n: NodeProto, name: string, fallback: number): number {
  const a = n.attribute?.find((x) => x.name === name);
  return a ? (a.f ?? fallback) : fallback;
}

interface Matched {
  readonly embeddingTensor: string;
  readonly nodes: NodeProto[];
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly inputDim: number;
  readonly outputs: number;
  readonly constantNames: string[];
}

/** A bias constant of `outputs` values (or 1, broadcast) as float64, or a reason it is not one. */
function biasValues(t: TensorProto, outputs: number, scale: number, file: string): Float64Array | string {
  const dims = (t.dims ?? []).map(toNumber);
  const v = tensorValues(t, file);
  const leading = dims.slice(0, -1).every((d) => d === 1);
  if (!leading || (v.length !== outputs && v.length !== 1)) return `its bias has shape [${dims.join(', ')}], expected [${outputs}]`;
  return Float64Array.from({ length: outputs }, (_, j) => scale * (v[v.length === 1 ? 0 : j] as number));
}

/** Match the linear layer whose output is `logits`: Gemm, MatMul + Add, or MatMul, with constant weights. */
function matchLinear(logits: string, producers: Map<string, NodeProto>, consts: Map<string, TensorProto>, file: string): Matched | string {
  const node = producers.get(logits);
  if (!node) return `"${logits}" is a graph input`;
  if (node.opType === 'Gemm') {
    const [a, b, c] = node.input ?? [];
    const bt = b ? consts.get(b) : undefined;
    if (!a || !bt) return `${describeNode(node)} has no constant weight matrix B`;
    if (attrInt(node, 'transA', 0) !== 0) return `${describeNode(node)} has transA = 1 (unsupported)`;
    const transB = attrInt(node, 'transB', 0);
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    const dims = (bt.dims ?? []).map(toNumber);
    if (dims.length !== 2) return `${describeNode(node)} has a weight of rank ${dims.length}, expected 2`;
    const [r, cc] = dims as [number, number];
    const outputs = transB ? r : cc;
    const inputDim = transB ? cc : r;
    const bv = tensorValues(bt, file);
    const weights = new Float64Array(outputs * inputDim);
    for (let j = 0; j < outputs; j++) {
      for (let k = 0; k < inputDim; k++) weights[j * inputDim + k] = alpha * (bv[transB ? j * inputDim + k : k * outputs + j] as number);
    }
    let bias: Float64Array = new Float64Array(outputs);
    const names = [b as string];
    if (c) {
      const ct = consts.get(c);
      if (!ct) return `${describeNode(node)} has a bias C that is not constant`;
      const parsed = biasValues(ct, outputs, beta, file);
      if (typeof parsed === 'string') return `${describeNode(node)}: ${parsed}`;
      bias = parsed;
      names.push(c);
    }
    return { embeddingTensor: a, nodes: [node], weights, bias, inputDim, outputs, constantNames: names };
  }
  let add: NodeProto | undefined;
  let matmul = node;
  let biasName: string | undefined;
  if (node.opType === 'Add') {
    const [x, y] = node.input ?? [];
    const xConst = x !== undefined && consts.has(x);
    const other = xConst ? y : x;
    biasName = xConst ? x : y;
    const producer = other ? producers.get(other) : undefined;
    if (!biasName || !consts.has(biasName) || !producer || producer.opType !== 'MatMul') {
      return `${describeNode(node)} is not a bias added to a MatMul with constant weights`;
    }
    add = node;
    matmul = producer;
  }
  if (matmul.opType !== 'MatMul') return `${describeNode(node)} is not a Gemm, MatMul or MatMul + Add`;
  const [a, b] = matmul.input ?? [];
  const bt = b ? consts.get(b) : undefined;
  if (!a || !bt) return `${describeNode(matmul)} has no constant weight matrix`;
  const dims = (bt.dims ?? []).map(toNumber);
  if (dims.length !== 2) return `${describeNode(matmul)} has a weight of rank ${dims.length}, expected 2`;
  const [inputDim, outputs] = dims as [number, number];
  const bv = tensorValues(bt, file);
  const weights = new Float64Array(outputs * inputDim);
  for (let j = 0; j < outputs; j++) for (let k = 0; k < inputDim; k++) weights[j * inputDim + k] = bv[k * outputs + j] as number;
  let bias: Float64Array = new Float64Array(outputs);
  const names = [b as string];
  if (add && biasName) {
    const parsed = biasValues(consts.get(biasName) as TensorProto, outputs, 1, file);
    if (typeof parsed === 'string') return `${describeNode(add)}: ${parsed}`;
    bias = parsed;
    names.push(biasName);
  }
  return { embeddingTensor: a, nodes: add ? [matmul, add] : [matmul], weights, bias, inputDim, outputs, constantNames: names };
}

/** Match the head that feeds graph output `output`, possibly through Softmax or Sigmoid. */
function matchOutput(output: string, producers: Map<string, NodeProto>, consts: Map<string, TensorProto>, file: string): FinalLinearLayer | string {
  const last = producers.get(output);
  let activation: HeadActivation = 'none';
  let activationNode: NodeProto | undefined;
  let logits = output;
  if (last && (last.opType === 'Softmax' || last.opType === 'Sigmoid')) {
    activation = last.opType === 'Softmax' ? 'softmax' : 'sigmoid';
    activationNode = last;
    logits = last.input?.[0] ?? '';
  }
  const m = matchLinear(logits, producers, consts, file);
  if (typeof m === 'string') return `output "${output}" comes from ${describeNode(last)}${activationNode ? ` fed by ${describeNode(producers.get(logits))}` : ''} (${m})`;
  if (activation === 'softmax' && m.outputs < 2) return `output "${output}" is a softmax over 1 value`;
  if (activation === 'sigmoid' && m.outputs !== 1) return `output "${output}" is ${m.outputs} sigmoids (multi-label), expected 1`;
  return { ...m, logitsTensor: logits, activation, activationNode, outputTensor: output };
}

/**
 * Find the final linear layer of a classifier: the last Gemm or MatMul(+Add) with constant weights whose output,
 * optionally through Softmax or Sigmoid, is a graph output (the first graph output that matches). With
 * `embeddingNode` (a tensor name, or a node name meaning its first output), the layer must take that tensor as input.
 * Throws an InputError naming `file` and what was found when no such layer exists.
 */
export function findFinalLinearLayer(graph: GraphProto, file: string, embeddingNode?: string): FinalLinearLayer {
  const producers = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) producers.set(o, n);
  const consts = constantTensors(graph);
  const reasons: string[] = [];
  const found: FinalLinearLayer[] = [];
  for (const out of graph.output ?? []) {
    const m = matchOutput(out.name ?? '', producers, consts, file);
    if (typeof m === 'string') reasons.push(m);
    else found.push(m);
  }
  if (embeddingNode === undefined) {
    const first = found[0];
    if (first) return first;
    throw new InputError(
      `${file}: not a classifier: expected a final Gemm or MatMul(+Add) with constant weights feeding an output, optionally through Softmax/Sigmoid; ${reasons.join('; ')}`,
    );
  }
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  let tensor: string | undefined;
  if (producers.has(embeddingNode) || (graphInputs.has(embeddingNode) && !consts.has(embeddingNode))) tensor = embeddingNode;
  else tensor = (graph.node ?? []).find((n) => n.name === embeddingNode)?.output?.[0] ?? undefined;
  const candidates = found.map((f) => `"${f.embeddingTensor}"`).join(', ') || 'none found';
  if (tensor === undefined) {
    throw new InputError(`${file}: --embedding-node "${embeddingNode}" is neither a node nor a tensor of the model; expected the input of the final linear layer (candidates: ${candidates})`);
  }
  const match = found.find((f) => f.embeddingTensor === tensor);
  if (match) return match;
  throw new InputError(
    `${file}: --embedding-node "${embeddingNode}" (tensor "${tensor}") is not the input of a final Gemm or MatMul(+Add) feeding an output; expected one of: ${candidates}`,
  );
}

/** Number of floating-point constant values in the graph (initializers and Constant nodes), minus `exclude`'s. */
export function floatParameterCount(graph: GraphProto, exclude: readonly string[]): number {
  let n = 0;
  const skip = new Set(exclude);
  for (const [name, t] of constantTensors(graph)) {
    if (skip.has(name) || !FLOATING_TYPES.has(t.dataType ?? 0)) continue;
    n += elementCount(t.dims ?? []);
  }
  return n;
}

/** Class names from model metadata (`classes`, `labels` or `class_labels`: a JSON array or comma-separated), if there are `count`. */
export function metadataClasses(model: ModelProto, count: number): string[] | undefined {
  for (const key of ['classes', 'labels', 'class_labels']) {
    const value = model.metadataProps.find((p) => p.key === key)?.value;
    if (!value) continue;
    let names: string[];
    try {
      const parsed: unknown = JSON.parse(value);
      names = Array.isArray(parsed) ? parsed.map(String) : value.split(',').map((s) => s.trim());
    } catch {
      names = value.split(',').map((s) => s.trim());
    }
    if (names.length === count) return names;
  }
  return undefined;
}
