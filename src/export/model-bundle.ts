import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { InputError } from '../errors.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import { tabularEncodingFromJSON } from '../data/tabular.ts';
import { LinearHead, type LinearHeadJSON } from '../head/linear-head.ts';
import { MlpBackbone } from '../backbone/mlp.ts';
import { CnnBackbone } from '../backbone/cnn.ts';
import { loadOnnxBackbone, type OnnxBackbone } from '../backbone/onnx.ts';
import type { InputSpec, PreparedData } from '../pipeline/prepare.ts';
import type { RunRecord } from '../report/schema.ts';
import { exportOnnxWithHead } from './onnx-export.ts';
import { imagePreprocessingFromJSON, toPreprocessorConfig } from '../data/image-preprocessing.ts';

/**
 * A deployable fairhead model: a folder with `manifest.json` (this type), the fair head, how raw input becomes
 * backbone input, and the backbone itself:
 *
 * - `mlp`, `cnn`: `backbone.json` (toJSON: layer sizes and float weights) — the whole network is in the folder;
 * - `onnx`: `model.onnx`, the user's model with its last layer replaced by the fair head (serve it as it is, or
 *   let `fairhead predict` run it), with `model.onnx_data` when the model keeps its weights in external data; an
 *   image model's preprocessing also as `preprocessor_config.json` (Hugging Face's format, the manifest's `input`
 *   being the record fairhead reads), a text model's `tokenizer.json` (and `tokenizer_config.json`);
 * - `face-api`: the weights shipped in @vladmandic/face-api (`backbone.id` pins the exact file by hash);
 * - `embeddings`: no backbone (inputs are embeddings).
 *
 * `fairhead export` writes the same manifest as one .json file with the mlp or cnn weights inline
 * (`backboneWeights`); {@link loadModelBundle} reads either form. A cnn model also exports as one self-contained
 * .onnx file (image bytes in, probabilities out: src/export/cnn-onnx.ts), which is for serving, not read back here.
 *
 * Reading never evaluates code: only JSON and ONNX protobuf are parsed, and every field is checked.
 */
export interface ModelManifest {
  readonly format: 'fairhead.model';
  readonly version: 1;
  readonly createdAt: string;
  readonly target: string;
  readonly positive?: string;
  readonly sensitive: readonly string[];
  readonly input: InputSpec;
  readonly backbone: { readonly kind: PreparedData['backbone']['kind']; readonly spec: string; readonly file?: string; readonly embeddingNode?: string };
  readonly head: LinearHeadJSON;
  /** P(positive) at or above this is predicted positive. */
  readonly threshold: number;
  readonly run: Pick<RunRecord, 'method' | 'constraint' | 'alpha' | 'seed'>;
}

export const MANIFEST_FILE = 'manifest.json';
/** A text model's tokenizer inside a model folder (and beside an exported .onnx). */
export const TOKENIZER_FILE = 'tokenizer.json';
/** An image model's preprocessing inside a model folder (and beside an exported .onnx), Hugging Face's format. */
export const PREPROCESSOR_FILE = 'preprocessor_config.json';

/**
 * Copy a tokenizer.json (and the tokenizer_config.json beside it, if any) into folder `dir` under their standard
 * names; returns the files written.
 */
export function copyTokenizer(tokenizerFile: string, dir: string): string[] {
  const written = [join(dir, TOKENIZER_FILE)];
  writeFileAtomic(written[0] as string, readFileSync(tokenizerFile));
  const config = join(dirname(tokenizerFile), 'tokenizer_config.json');
  if (existsSync(config)) {
    written.push(join(dir, 'tokenizer_config.json'));
    writeFileAtomic(written[1] as string, readFileSync(config));
  }
  return written;
}

/** Write the model folder `dir` for `head` trained on `prepared` (every file atomically). */
export async function saveModelBundle(
  dir: string,
  prepared: PreparedData,
  head: LinearHead,
  run: ModelManifest['run'],
  task: { target: string; positive?: string; sensitive: readonly string[] },
): Promise<string[]> {
  const files: string[] = [];
  let backboneFile: string | undefined;
  // embeddings from `fairhead embed` whose backbone is at hand: the model takes what that backbone takes
  const made = prepared.embeddedBy ?? prepared;
  const backbone = made.backbone;
  const own = backbone.mlp ?? backbone.cnn;
  if (own) {
    backboneFile = 'backbone.json';
    writeFileAtomic(join(dir, backboneFile), JSON.stringify(own.toJSON()));
    files.push(join(dir, backboneFile));
  } else if (backbone.kind === 'onnx' && backbone.onnxFile) {
    backboneFile = 'model.onnx';
    await exportOnnxWithHead(backbone.onnxFile, head, join(dir, backboneFile), backbone.embeddingNode !== undefined ? { embeddingNode: backbone.embeddingNode } : {});
    files.push(join(dir, backboneFile));
    if (existsSync(join(dir, `${backboneFile}_data`))) files.push(join(dir, `${backboneFile}_data`));
  }
  let input = made.input;
  if (input.kind === 'text') {
    files.push(...copyTokenizer(input.tokenizer, dir));
    input = { ...input, tokenizer: TOKENIZER_FILE };
  }
  if (input.kind === 'images' && input.preprocessing) {
    writeFileAtomic(join(dir, PREPROCESSOR_FILE), `${JSON.stringify(toPreprocessorConfig(input.preprocessing), null, 2)}\n`);
    files.push(join(dir, PREPROCESSOR_FILE));
  }
  const manifest: ModelManifest = {
    format: 'fairhead.model',
    version: 1,
    createdAt: new Date().toISOString(),
    target: task.target,
    ...(task.positive !== undefined ? { positive: task.positive } : {}),
    sensitive: task.sensitive,
    input,
    backbone: {
      kind: backbone.kind,
      spec: backbone.spec,
      ...(backboneFile !== undefined ? { file: backboneFile } : {}),
      ...(backbone.embeddingNode !== undefined ? { embeddingNode: backbone.embeddingNode } : {}),
    },
    head: head.toJSON(),
    threshold: 0.5,
    run,
  };
  writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  files.push(join(dir, MANIFEST_FILE));
  return files;
}

/** A model folder read back: its manifest, head and (for mlp) backbone. */
export interface LoadedModel {
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly head: LinearHead;
  readonly mlp?: MlpBackbone;
  readonly cnn?: CnnBackbone;
  /** Absolute path of the backbone file (mlp JSON or ONNX), when there is one. */
  readonly backboneFile?: string;
}

/** The ONNX backbone of a model folder whose backbone is `onnx`, cut where the folder's manifest says. */
export function loadModelOnnx(model: LoadedModel, threads?: number): Promise<OnnxBackbone> {
  const node = model.manifest.backbone.embeddingNode;
  return loadOnnxBackbone(model.backboneFile as string, { ...(node !== undefined ? { embeddingNode: node } : {}), ...(threads !== undefined ? { threads } : {}) });
}

/** Read a model folder written by {@link saveModelBundle} (or its manifest.json path). */
export function loadModelBundle(path: string): LoadedModel {
  let dir = resolve(path);
  let manifestFile = join(dir, MANIFEST_FILE);
  try {
    if (statSync(dir).isFile()) {
      manifestFile = dir;
      dir = dirname(dir);
    }
  } catch {
    throw new InputError(`${path}: model not found (expected a folder written by \`fairhead run\`, holding ${MANIFEST_FILE}, or a .json file from \`fairhead export\`)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${manifestFile}: ${code === 'ENOENT' ? 'not found; expected a model folder written by `fairhead run`' : 'is not valid JSON'}`);
  }
  const m = json as (Partial<ModelManifest> & { backboneWeights?: unknown }) | null;
  if (!m || typeof m !== 'object' || m.format !== 'fairhead.model') {
    throw new InputError(`${manifestFile}: not a fairhead model manifest (expected format "fairhead.model")`);
  }
  if (m.version !== 1) {
    throw new InputError(`${manifestFile}: model format version ${String(m.version)} is newer than this fairhead reads (1); upgrade fairhead`);
  }
  if (!m.input || !m.backbone || !m.head || typeof m.target !== 'string') {
    throw new InputError(`${manifestFile}: incomplete manifest (needs input, backbone, head and target)`);
  }
  const head = LinearHead.fromJSON(m.head, `${manifestFile} (head)`);
  if (m.input.kind === 'tabular') tabularEncodingFromJSON(m.input.encoding, `${manifestFile} (input.encoding)`);
  if (m.input.kind === 'images' && m.input.preprocessing !== undefined) imagePreprocessingFromJSON(m.input.preprocessing, `${manifestFile} (input.preprocessing)`);
  if (m.input.kind === 'text') {
    const t = m.input;
    if (typeof t.column !== 'string' || typeof t.tokenizer !== 'string' || !(Number.isInteger(t.maxLength) && t.maxLength > 0)) {
      throw new InputError(`${manifestFile}: input of kind "text" needs column, tokenizer and maxLength (a positive integer)`);
    }
    const tok = join(dir, t.tokenizer);
    if (!tok.startsWith(dir + sep)) throw new InputError(`${manifestFile}: the tokenizer file must be inside the model folder`);
    if (!existsSync(tok)) throw new InputError(`${tok}: missing; a text model folder holds the tokenizer.json it was trained with`);
  }
  const backboneFile = m.backbone.file !== undefined ? join(dir, m.backbone.file) : undefined;
  if (backboneFile !== undefined && !backboneFile.startsWith(dir + sep)) throw new InputError(`${manifestFile}: backbone file must be inside the model folder`);
  if (typeof m.threshold !== 'number' || !(m.threshold >= 0 && m.threshold <= 1)) {
    throw new InputError(`${manifestFile}: threshold should be a number in [0, 1], received ${JSON.stringify(m.threshold)}`);
  }
  let mlp: MlpBackbone | undefined;
  let cnn: CnnBackbone | undefined;
  if (m.backbone.kind === 'mlp' || m.backbone.kind === 'cnn') {
    let raw: unknown = m.backboneWeights;
    if (raw === undefined) {
      if (backboneFile === undefined) throw new InputError(`${manifestFile}: an ${m.backbone.kind} model needs backbone.file or backboneWeights`);
      try {
        raw = JSON.parse(readFileSync(backboneFile, 'utf8'));
      } catch {
        throw new InputError(`${backboneFile}: missing or not valid JSON (the ${m.backbone.kind} backbone of this model)`);
      }
    }
    if (m.backbone.kind === 'mlp') mlp = MlpBackbone.fromJSON(raw, backboneFile ?? manifestFile);
    else cnn = CnnBackbone.fromJSON(raw, backboneFile ?? manifestFile);
  }
  return { dir, manifest: m as ModelManifest, head, ...(mlp ? { mlp } : {}), ...(cnn ? { cnn } : {}), ...(backboneFile ? { backboneFile } : {}) };
}
