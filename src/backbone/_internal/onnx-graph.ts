/**
 * Reading an ONNX graph with onnx-proto: decoding (never evaluating anything), constant tensors, the model's
 * input, and the final linear layer of a classifier (the layer whose input is the embedding).
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { InputError } from '../../errors.ts';

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
  for (const t of graph.initializer ?? []) {
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      throw new InputError(`${file}: tensor "${t.name ?? ''}" is stored in an external data file; expected a self-contained .onnx file (save it with all tensors inside)`);
    }
  }
  return model;
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
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
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

/** The one real input of the model (graph inputs that are not initializers). */
export interface ModelInput {
  readonly name: string;
  /** Dimensions: numbers are fixed, strings name a dynamic dimension (e.g. the batch `N`). */
  readonly shape: readonly (number | string)[];
  /** Values per row: the product of all dimensions but the first. */
  readonly features: number;
}

/** Find the model's input and check it is a float tensor with fixed non-batch dimensions. */
export function modelInput(graph: GraphProto, file: string): ModelInput {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (graph.input ?? []).filter((i) => !inits.has(i.name ?? ''));
  if (inputs.length !== 1) {
    throw new InputError(`${file}: the model has ${inputs.length} inputs (${inputs.map((i) => `"${i.name ?? ''}"`).join(', ')}); expected exactly one feature input`);
  }
  const input = inputs[0] as ValueInfoProto;
  const name = input.name ?? '';
  const tensor = input.type?.tensorType;
  if (!tensor || tensor.elemType !== DT.FLOAT) {
    const got = tensor ? (DT[tensor.elemType ?? 0] ?? String(tensor.elemType)) : 'a non-tensor value';
    throw new InputError(`${file}: model input "${name}" has element type ${got}; expected float (float32 features)`);
  }
  const dims = tensor.shape?.dim ?? [];
  if (dims.length < 2) {
    throw new InputError(`${file}: model input "${name}" has ${dims.length} dimensions; expected [batch, features...] (at least 2)`);
  }
  const shape = dims.map((d, i) => (d.dimValue !== null && d.dimValue !== undefined && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : d.dimParam || (i === 0 ? 'N' : '?')));
  let features = 1;
  for (let i = 1; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number') {
      throw new InputError(`${file}: model input "${name}" has a dynamic dimension ${i} ("${String(d)}") in shape [${shape.join(', ')}]; expected fixed sizes after the batch dimension`);
    }
    features *= d;
  }
  return { name, shape, features };
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
