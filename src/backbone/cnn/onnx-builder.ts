/**
 * A tiny writer of ONNX graphs (opset 13, float32) with onnx-proto: inputs, nodes with attributes, int64 and float
 * constants, outputs. The CNN's forward, backward and inference passes are written with it and run by
 * onnxruntime-node.
 *
 * @example
 * const g = new OnnxBuilder('relu');
 * g.input('x', ['N', 4]);
 * g.output(g.node('Relu', ['x']));
 * const bytes = g.toBytes(); // an ONNX model: x -> max(x, 0)
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

/** The element types of graph inputs and outputs. */
export type ElementType = 'float' | 'int64';

/** An attribute value: an integer, a list of integers, a float or a string. */
export type AttributeValue = number | readonly number[] | string | { readonly float: number };

/** Builds one ONNX graph; every node output gets a fresh unique name unless one is given. */
export class OnnxBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly inputNames = new Set<string>();
  private readonly outputNames = new Set<string>();
  /** Operator domains other than the default one, with their opset versions. */
  private readonly domains = new Map<string, number>();
  private readonly constants = new Map<string, string>();
  private counter = 0;

  /** `opset`: the default domain's opset version written into the model (13 unless given). */
  constructor(
    readonly name: string,
    readonly opset = 13,
  ) {}

  /** A fresh tensor name: `prefix`, the graph's name (so two graphs never clash) and a counter. */
  fresh(prefix: string): string {
    this.counter++;
    return `${prefix}_${this.name}_${this.counter}`;
  }

  /**
   * Declare an input (float, or int64 with `type: 'int64'`); a string dimension is symbolic (e.g. the batch size);
   * no `dims`: shape unknown.
   */
  input(name: string, dims?: readonly (number | string)[], type: ElementType = 'float'): string {
    if (this.inputNames.has(name)) return name;
    this.inputNames.add(name);
    this.inputs.push(valueInfo(name, dims, type));
    return name;
  }

  /** True when `name` is a declared input. */
  hasInput(name: string): boolean {
    return this.inputNames.has(name);
  }

  /** Declare `name` as an output (float unless `type`; shape left to inference). Declaring it twice is a no-op. */
  output(name: string, type: ElementType = 'float'): string {
    if (this.outputNames.has(name)) return name;
    this.outputNames.add(name);
    this.outputs.push(valueInfo(name, undefined, type));
    return name;
  }

  /** Add a node; returns its first output's name (`outputs` names them, else one fresh name). */
  node(op: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, outputs?: readonly string[]): string {
    return this.nodeIn('', op, inputs, attributes, outputs);
  }

  /**
   * Add a node of operator domain `domain` (e.g. onnxruntime's 'com.microsoft.nchwc', opset 1; '' is the default
   * domain); returns its first output's name.
   */
  nodeIn(domain: string, op: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, outputs?: readonly string[], version = 1): string {
    if (domain !== '') this.domains.set(domain, version);
    const outs = outputs ? [...outputs] : [this.fresh(op.toLowerCase())];
    this.nodes.push({
      opType: op,
      ...(domain !== '' ? { domain } : {}),
      input: [...inputs],
      output: outs,
      name: this.fresh(`n_${op}`),
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return outs[0] as string;
  }

  /** An int64 constant tensor (1-D), shared between uses with equal values. */
  ints(values: readonly number[]): string {
    const key = `i:${values.join(',')}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = this.fresh('const_i');
    this.initializers.push({ name, dataType: DT.INT64, dims: [values.length], int64Data: [...values] });
    this.constants.set(key, name);
    return name;
  }

  /** A float32 constant tensor of shape `dims` (row-major `values`), shared between uses with equal contents. */
  floats(dims: readonly number[], values: readonly number[]): string {
    const key = `t:${dims.join('x')}:${values.join(',')}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = this.fresh('const_t');
    this.initializers.push({ name, dataType: DT.FLOAT, dims: [...dims], floatData: [...values] });
    this.constants.set(key, name);
    return name;
  }

  /**
   * A float32 initializer of shape `dims` holding `values` (row-major, stored as raw little-endian bytes; for
   * weights: never shared, `name` is used as given).
   */
  weights(name: string, dims: readonly number[], values: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (values.length !== count) throw new Error(`onnx builder: ${name} has ${values.length} values, its shape [${dims.join(', ')}] needs ${count}`);
    const raw = new Uint8Array(count * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < count; i++) view.setFloat32(4 * i, values[i] as number, true);
    this.initializers.push({ name, dataType: DT.FLOAT, dims: [...dims], rawData: raw });
    return name;
  }

  /** A float32 scalar constant, shared between uses with equal values. */
  scalar(value: number): string {
    const key = `f:${value}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = this.fresh('const_f');
    this.initializers.push({ name, dataType: DT.FLOAT, dims: [], floatData: [value] });
    this.constants.set(key, name);
    return name;
  }

  /** The model as ONNX protobuf bytes (IR version 8, default-domain opset {@link opset}). */
  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'fairhead',
      opsetImport: [{ domain: '', version: this.opset }, ...[...this.domains].map(([domain, version]) => ({ domain, version }))],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dims: readonly (number | string)[] | undefined, type: ElementType): onnxProto.onnx.IValueInfoProto {
  const elemType = type === 'int64' ? DT.INT64 : DT.FLOAT;
  if (!dims) return { name, type: { tensorType: { elemType } } };
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  if (typeof value === 'number') return { name, type: AT.INT, i: value };
  if (typeof value === 'string') return { name, type: AT.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AT.INTS, ints: [...(value as number[])] };
  return { name, type: AT.FLOAT, f: (value as { float: number }).float };
}
