/**
 * fairhead: last-layer fairness fine-tuning (Mao et al., 2023) in TypeScript.
 * The public surface, stage by stage: data -> backbone -> head -> fairness -> train -> pipeline -> report -> export.
 */
export { VERSION } from './version.ts';
export { FairheadError, InputError, ShapeError, ConvergenceError, isUserError } from './errors.ts';

// data
export { matrix, takeRows, type Matrix } from './data/matrix.ts';
export type { EmbeddingSet } from './data/dataset.ts';
export { readCsvTable, parseCsvText, columnIndex, columnValues, type CsvTable } from './data/csv-table.ts';
export { fitTabularEncoding, encodeFeatures, encodeTabular, tabularEncodingFromJSON, type TabularEncoding, type TabularOptions } from './data/tabular.ts';
export { loadTabular, type LoadTabularOptions, type LoadedTabular } from './data/load-tabular.ts';
export { stratifiedSplit, labelGroupStrata, subsetEmbeddingSet } from './data/splits.ts';
export { readEmbeddings, type ReadEmbeddingsOptions } from './data/embeddings.ts';
export { readNpy, writeNpy } from './data/npy.ts';
export { readNumericCsv } from './data/numeric-csv.ts';
export { readParquetEmbeddings } from './data/parquet.ts';
export { readImageLabels, imageBatches, decodeImage } from './data/images.ts';
export {
  defaultImagePreprocessing,
  preprocessImageFile,
  readPreprocessorConfig,
  resolveImagePreprocessing,
  toPreprocessorConfig,
  type ImageInputOptions,
  type ImagePreprocessing,
  type ImageResample,
  type ImageResize,
} from './data/image-preprocessing.ts';
export { loadTokenizer, type TextTokenizer, type TokenBatch } from './data/text-tokenizer.ts';

// backbone
export type { Backbone } from './backbone/backbone.ts';
export { trainMlp, MlpBackbone, defaultMlpOptions, type MlpOptions, type MlpExtraLoss, type MlpTrainResult } from './backbone/mlp.ts';
export { loadOnnxBackbone, type FeedTensor, type ModelInput, type OnnxBackbone, type OnnxBackboneOptions } from './backbone/onnx.ts';
export { embedImageFiles, embedTexts, openTextModel, type TextModel } from './pipeline/model-inputs.ts';
export { loadFaceApiBackbone, type FaceApiBackbone } from './backbone/face-api.ts';
export { cachedEmbeddings, hashFiles, hashMatrix } from './backbone/embedding-cache.ts';

// head
export { LinearHead, sigmoid, type LinearHeadJSON } from './head/linear-head.ts';

// fairness
export * from './fairness/metrics/index.ts';
export * from './fairness/penalties/index.ts';

// train
export { fitHead, type FitOptions, type FitResult, type FitProgress, type ConstraintName } from './train/fit.ts';
export { createRng, type Rng } from './rng.ts';
export { createLinearOps } from './train/create-ops.ts';
export { startTrainerThreads } from './train/threaded-ops.ts';
export type { LinearOps } from './train/linear-ops.ts';

// pipeline
export { finetuneSet, releaseFinetuneSet, methodUsesPenalty, balancedSample } from './pipeline/finetune-sets.ts';
export { prepareData, type PreparedData } from './pipeline/prepare.ts';
export { evaluateHead } from './pipeline/evaluate.ts';
export { finetuneAndEvaluate, shippedOutcome } from './pipeline/finetune.ts';
export { runPipeline } from './pipeline/run.ts';
export { runSweep, type SweepOptions } from './pipeline/sweep.ts';
export { parseSelect, selectRun, type RunSelection, type SelectRule } from './pipeline/select-run.ts';
export { predictWithModel } from './pipeline/predict.ts';
export { runDemo } from './pipeline/demo.ts';
export { METHODS, CONSTRAINTS, OPTIMIZERS, type RunOptions, type Method, type Constraint } from './pipeline/run-options.ts';

// report
export type { MetricsFile, RunRecord, SplitSummary, GroupRow, RunCost, RunContext } from './report/schema.ts';
export { writeReport } from './report/write-report.ts';
export { buildReport } from './report/build-report.ts';
export { renderHtml } from './report/render-html.ts';
export { renderMarkdown } from './report/render-markdown.ts';
export { paretoFront } from './report/pareto-front.ts';

// export
export { copyOnnxModel, exportOnnxWithHead } from './export/onnx-export.ts';
export { buildCnnOnnx, exportCnnOnnx, type CnnOnnxOptions } from './export/cnn-onnx.ts';
export { saveModelBundle, loadModelBundle, type ModelManifest } from './export/model-bundle.ts';
