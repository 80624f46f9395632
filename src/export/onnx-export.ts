/**
 * Export an ONNX classifier with its final linear layer replaced by a fair {@link LinearHead}.
 *
 * The new file keeps everything up to the embedding, the activation (Softmax/Sigmoid) and the output names, so the
 * serving code that fed the original model can feed the new one. The replaced layer is written as one Gemm
 * (transB = 1) with float32 weights `fairhead_head_weight` and bias `fairhead_head_bias`.
 *
 * How a head maps onto the original output (`N` = the original layer's outputs):
 * - binary head (1 logit z = w.x + b), N = 1: one logit, as in the original (Sigmoid -> P(class 1)).
 * - binary head, N >= 2 (softmax or logits): two logits [0, z], i.e. w0 = 0, b0 = 0, w1 = w, b1 = b. Then
 *   softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)], exactly LinearHead.predictProba, and the logit of class 1 is
 *   the fair head's own logit. (The symmetric choice [-z/2, z/2] gives the same probabilities; [0, z] was chosen so
 *   the stored weights are the head's own numbers.) With N = 2 the output name and shape are unchanged.
 * - K-class head (K logits): K logits; a Sigmoid after the original layer becomes a Softmax.
 * The output's last dimension is updated when the number of logits differs from N (a head trained for other classes).
 * Model metadata `classes` is set to the head's class names (JSON array).
 *
 * A model whose weights are in external data files (`model.onnx` + `model.onnx_data`, or one file per tensor) is
 * written the same way: `fair.onnx` plus one `fair.onnx_data` holding every external tensor still used (the
 * replaced layer's are left out), so the two files can be moved together anywhere.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import type { LinearHead } from '../head/linear-head.ts';
import {
  constantTensors,
  decodeModel,
  externalRange,
  externalTensors,
  findFinalLinearLayer,
  onnx,
  readModelBytes,
  toNumber,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from '../backbone/_internal/onnx-graph.ts';
import { createSession } from '../backbone/_internal/onnx-session.ts';

/** Options of {@link exportOnnxWithHead}. */
export interface OnnxExportOptions {
  /** As in loadOnnxBackbone: the tensor (or node) entering the final linear layer; default found automatically. */
  embeddingNode?: string;
}

/** The weights written for `head` over an original layer with `originalOutputs` outputs. */
export function exportedHeadWeights(head: LinearHead, originalOutputs: number): { weights: Float32Array; bias: Float32Array; outputs: number } {
  const d = head.inputDim;
  if (head.outputs === 1 && originalOutputs >= 2) {
    const weights = new Float32Array(2 * d);
    weights.set(head.weights, d);
    return { weights, bias: Float32Array.of(0, head.bias[0] as number), outputs: 2 };
  }
  return { weights: Float32Array.from(head.weights), bias: Float32Array.from(head.bias), outputs: head.outputs };
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/**
 * Write `outFile`: the ONNX model `sourceFile` whose final linear layer is replaced by `head` (see the module
 * comment for the binary / 2-output mapping). The result is checked by loading it in onnxruntime before the atomic
 * write.
 *
 * @example
 * await exportOnnxWithHead('model.onnx', fairHead, 'model-fair.onnx');
 * // onnxruntime on model-fair.onnx gives fairHead.predictProba(await backbone.embed(x)) (to float32 precision)
 *
 * Errors (InputError): the source errors of loadOnnxBackbone, and a head whose inputDim differs from the
 * embedding's size.
 */
export async function exportOnnxWithHead(sourceFile: string, head: LinearHead, outFile: string, options: OnnxExportOptions = {}): Promise<void> {
  const bytes = readModelBytes(sourceFile);
  const model = decodeModel(bytes, sourceFile);
  const graph = model.graph as GraphProto;
  const layer = findFinalLinearLayer(graph, sourceFile, options.embeddingNode);
  if (head.inputDim !== layer.inputDim) {
    throw new InputError(
      `${sourceFile}: the head expects ${head.inputDim} embedding values, the model's embedding "${layer.embeddingTensor}" has ${layer.inputDim}; expected a head trained on this model's embeddings`,
    );
  }
  const { weights, bias, outputs } = exportedHeadWeights(head, layer.outputs);
  const nodes = graph.node ?? [];
  const removed = new Set(layer.nodes);

  // Drop the old weights when nothing else uses them (initializers, their IR<4 graph inputs, Constant nodes).
  const stillUsed = new Set(nodes.filter((n) => !removed.has(n)).flatMap((n) => n.input ?? []));
  const drop = new Set(layer.constantNames.filter((c) => !stillUsed.has(c)));
  const taken = new Set<string>([...constantTensors(graph).keys(), ...nodes.flatMap((n) => [...(n.output ?? []), n.name ?? ''])]);
  graph.initializer = (graph.initializer ?? []).filter((t) => !drop.has(t.name ?? ''));
  graph.input = (graph.input ?? []).filter((i) => !drop.has(i.name ?? ''));

  const wName = uniqueName('fairhead_head_weight', taken);
  const bName = uniqueName('fairhead_head_bias', taken);
  const raw = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  const newInits: TensorProto[] = [
    { name: wName, dims: [outputs, head.inputDim], dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw(weights) },
    { name: bName, dims: [outputs], dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw(bias) },
  ];
  graph.initializer.push(...newInits);

  const opset = toNumber(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 13);
  const attribute = [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }];
  if (opset < 7) attribute.push({ name: 'broadcast', type: onnx.AttributeProto.AttributeType.INT, i: 1 });
  const gemm: NodeProto = {
    name: uniqueName('fairhead_head', taken),
    opType: 'Gemm',
    input: [layer.embeddingTensor, wName, bName],
    output: [layer.logitsTensor],
    attribute,
  };
  // The new Gemm takes the place of the old layer's first node, which keeps the nodes in topological order.
  const finalNodes: NodeProto[] = [];
  for (const n of nodes) {
    if (n === layer.nodes[0]) finalNodes.push(gemm);
    if (removed.has(n) || (n.opType === 'Constant' && drop.has(n.output?.[0] ?? ''))) continue;
    finalNodes.push(n);
  }

  if (outputs > 1 && layer.activation === 'sigmoid' && layer.activationNode) {
    layer.activationNode.opType = 'Softmax';
    layer.activationNode.attribute = [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: opset >= 13 ? -1 : 1 }];
  }
  if (outputs !== layer.outputs) {
    // A different number of logits: update the output's last dimension, forget stale intermediate shapes.
    const out = (graph.output ?? []).find((o) => o.name === layer.outputTensor);
    const dims = out?.type?.tensorType?.shape?.dim;
    const lastDim = dims?.[dims.length - 1];
    if (lastDim) {
      lastDim.dimValue = outputs;
      lastDim.dimParam = '';
    }
    graph.valueInfo = (graph.valueInfo ?? []).filter((v) => v.name !== layer.logitsTensor && v.name !== layer.outputTensor);
  }
  graph.node = finalNodes;

  const metadata = model.metadataProps.filter((p) => p.key !== 'classes');
  metadata.push({ key: 'classes', value: JSON.stringify(head.classes) });
  model.metadataProps = metadata.map((p) => onnx.StringStringEntryProto.create(p));
  model.docString = `${model.docString ? `${model.docString}\n` : ''}Final linear layer replaced by a fairhead LinearHead (${head.classes.length} classes).`;

  await saveOnnxModel(model, sourceFile, outFile);
}

const COPY_CHUNK = 1 << 26;

/**
 * Write `model` (decoded from `sourceFile`) to `outFile`, checked by loading it in onnxruntime first. Tensors in
 * external data files are copied, in chunks, into one `<outFile name>_data` beside `outFile` and the model points
 * there; both files are written through temporary names, and nothing is left behind when the check fails.
 *
 * @example
 * await saveOnnxModel(decodeModel(bytes, 'in/model.onnx'), 'in/model.onnx', 'out/fair.onnx'); // out/fair.onnx (+ out/fair.onnx_data)
 */
export async function saveOnnxModel(model: ModelProto, sourceFile: string, outFile: string): Promise<void> {
  const external = externalTensors(model.graph as GraphProto);
  if (external.length === 0) {
    const out = onnx.ModelProto.encode(model).finish();
    const check = await createSession(out, outFile, { threads: 1 });
    await check.release();
    writeFileAtomic(outFile, out);
    return;
  }
  const dataName = `${basename(outFile)}_data`;
  const dataFile = resolve(dirname(outFile), dataName);
  const tmp = `${dataFile}.${process.pid}.tmp`;
  const ranges = external.map((t) => externalRange(t, sourceFile));
  let renamed = false;
  try {
    mkdirSync(dirname(dataFile), { recursive: true });
    const out = openSync(tmp, 'w');
    let offset = 0;
    try {
      const buffer = new Uint8Array(COPY_CHUNK);
      external.forEach((t, i) => {
        const r = ranges[i] as (typeof ranges)[number];
        const src = openSync(r.path, 'r');
        try {
          const length = r.length ?? fstatSync(src).size - r.offset;
          for (let done = 0; done < length; ) {
            const n = readSync(src, buffer, 0, Math.min(COPY_CHUNK, length - done), r.offset + done);
            if (n === 0) throw new InputError(`${r.path}: ends before tensor "${t.name ?? ''}" (${length} bytes at offset ${r.offset})`);
            writeSync(out, buffer, 0, n);
            done += n;
          }
          t.externalData = [
            { key: 'location', value: dataName },
            { key: 'offset', value: String(offset) },
            { key: 'length', value: String(length) },
          ].map((e) => onnx.StringStringEntryProto.create(e));
          offset += length;
        } finally {
          closeSync(src);
        }
      });
    } finally {
      closeSync(out);
    }
    renameSync(tmp, dataFile);
    renamed = true;
    const bytes = onnx.ModelProto.encode(model).finish();
    const check = await createSession(bytes, outFile, { threads: 1, externalDataFolder: dirname(dataFile) });
    await check.release();
    writeFileAtomic(outFile, bytes);
  } catch (error) {
    rmSync(tmp, { force: true });
    if (renamed) rmSync(dataFile, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'ENOSPC' || code === 'EISDIR') {
      throw new InputError(`${dataFile}: cannot write (${code}); choose another output folder`);
    }
    throw error;
  }
}

/**
 * Copy the ONNX model `sourceFile` to `outFile` with its external data, if any (see {@link saveOnnxModel}).
 */
export async function copyOnnxModel(sourceFile: string, outFile: string): Promise<void> {
  const model = decodeModel(readModelBytes(sourceFile), sourceFile);
  await saveOnnxModel(model, sourceFile, outFile);
}
