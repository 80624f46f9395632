import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../atomic-write.ts';
import { InputError } from '../../errors.ts';
import { logger, type RawFlags } from '../flags.ts';

/**
 * `fairhead export`: the chosen model as one deployable file. ONNX backbone: the ONNX model whose last layer is the
 * fair head (`.onnx`), to serve with any ONNX runtime, with beside it what feeding it takes: `NAME.onnx_data` for
 * external weights, `tokenizer.json` for a text model, `preprocessor_config.json` for an image model. cnn: `.onnx`, the whole CNN with the fair head, image bytes
 * in, probabilities and class out (src/export/cnn-onnx.ts), or `.json`. mlp, face-api, embeddings: one JSON file with
 * the manifest (input encoding, head) and, for mlp and cnn, the backbone weights inline; `fairhead predict --model
 * FILE.json` reads it.
 */
export function register(program: Command): void {
  program
    .command('export')
    .description('write the model of a run as one deployable file: .onnx for an ONNX or cnn backbone, .json otherwise (cnn: either)')
    .requiredOption('--model <dir>', 'model folder (OUT/model from `fairhead run` or `sweep`)')
    .requiredOption('--out <file>', 'output file (.onnx for an ONNX backbone; .onnx or .json for cnn; .json otherwise)')
    .option('--quiet', 'no status lines')
    .action(async (flags: RawFlags) => {
      const { loadModelBundle } = await import('../../export/model-bundle.ts');
      const model = loadModelBundle(String(flags['model']));
      const out = String(flags['out']);
      const ext = extname(out).toLowerCase();
      if (model.manifest.backbone.kind === 'onnx') {
        if (ext !== '.onnx') throw new InputError(`--out ${out}: this model has an ONNX backbone; give a .onnx file name`);
        const { copyOnnxModel } = await import('../../export/onnx-export.ts');
        const { copyTokenizer, PREPROCESSOR_FILE } = await import('../../export/model-bundle.ts');
        await copyOnnxModel(model.backboneFile as string, out);
        const input = model.manifest.input;
        if (input.kind === 'text') copyTokenizer(join(model.dir, input.tokenizer), dirname(out));
        const preprocessor = join(model.dir, PREPROCESSOR_FILE);
        if (input.kind === 'images' && existsSync(preprocessor)) writeFileAtomic(join(dirname(out), PREPROCESSOR_FILE), readFileSync(preprocessor));
      } else if (model.cnn && ext === '.onnx') {
        const { exportCnnOnnx } = await import('../../export/cnn-onnx.ts');
        await exportCnnOnnx(model.cnn, model.head, out, { threshold: model.manifest.threshold, source: String(flags['model']) });
      } else {
        if (ext !== '.json') {
          throw new InputError(`--out ${out}: a ${model.manifest.backbone.kind} model exports as ${model.cnn ? 'a .onnx file (image bytes in, probabilities out) or ' : ''}one .json file`);
        }
        const bundle = {
          ...model.manifest,
          backbone: { kind: model.manifest.backbone.kind, spec: model.manifest.backbone.spec },
          ...(model.mlp ? { backboneWeights: model.mlp.toJSON() } : model.cnn ? { backboneWeights: model.cnn.toJSON() } : {}),
        };
        writeFileAtomic(out, `${JSON.stringify(bundle)}\n`);
      }
      logger(flags['quiet'] === true)(`wrote ${out}`);
    });
}
