/**
 * The shape of `DIR/metrics.json`, written by `fairhead run`, `sweep` and `reproduce`, read by the report
 * renderers and by other tools: keep these names stable.
 *
 * { "runs": [ { "method": "m2", "constraint": "eo", "alpha": 1, "seed": 0,
 *               "splits": { "train": {...}, "finetune": {...}, "test": {...} }, "cost": {...} } ] }
 */
import type { ImagePreprocessing } from '../data/image-preprocessing.ts';
export interface MetricsFile {
  readonly format: 'fairhead.metrics';
  readonly version: 1;
  /** Dataset, backbone and sensitive attribute, for titles. */
  readonly context: RunContext;
  readonly runs: readonly RunRecord[];
  /** How `sweep` and `demo` chose the run they saved; absent for `run` (the user named it) and `reproduce`. */
  readonly selection?: SelectionRecord;
}

/**
 * The operating point a rule chose (`--select METRIC<=BOUND`): the most accurate run on the `split` data whose
 * `metric` is at most `bound`; when none is (`boundMet` false), the run with the smallest `metric`.
 */
export interface SelectionRecord {
  /** Index into `runs`. */
  readonly run: number;
  /** A fairness difference of {@link SplitSummary}, e.g. `equalizedOddsDifference`. */
  readonly metric: string;
  readonly bound: number;
  /** The split the rule read: validation (fine-tuning set only for runs without one). Never test. */
  readonly split: 'validation' | 'finetune';
  readonly boundMet: boolean;
}

/** What an ONNX model was fed: its image preprocessing or its tokenizer (as in the model folder's manifest). */
export type RunInput =
  | { readonly kind: 'images'; readonly preprocessing: ImagePreprocessing }
  | { readonly kind: 'text'; readonly column: string; readonly tokenizer: string; readonly tokenizerSha256: string; readonly maxLength: number };

export interface RunContext {
  readonly dataset: string;
  readonly backbone: string;
  /** ONNX image and text models: how rows became the model's input. */
  readonly input?: RunInput;
  readonly target: string;
  readonly sensitive: readonly string[];
  /** Positive class name (binary tasks). */
  readonly positive?: string;
  readonly createdAt: string;
  readonly machine?: string;
  /**
   * The options of the command that wrote the file (`fairhead run`, `sweep`, `explore`'s save): the keys of its
   * data, backbone and head flags in camelCase, paths absolute (pipeline/run-command.ts). `fairhead explore --from
   * DIR` reads the data again with them.
   */
  readonly options?: Readonly<Record<string, string | number | boolean | readonly string[] | readonly number[]>>;
}

/** Method names: the paper's b1, b2, b3, m1, m2, the remedies of M2's prior shift m2w (weighted M2) and m2p
 *  (prior-corrected M2), plus `full` (whole network trained with the penalty), `shipped` (the model's own head or
 *  the ERM head) and `threshold` (post-processing by group thresholds). */
export type MethodName = 'b1' | 'b2' | 'b3' | 'm1' | 'm2' | 'm2w' | 'm2p' | 'full' | 'shipped' | 'threshold';

export interface RunRecord {
  readonly method: MethodName;
  /** Penalty name (eo, dp, eopp, di, ae, mmf) or "none" for the B* methods. */
  readonly constraint: string;
  readonly alpha: number;
  readonly seed: number;
  /** Set when the run used target mode (`--max-gap`). */
  readonly maxGap?: number;
  readonly splits: {
    readonly train: SplitSummary;
    readonly finetune: SplitSummary;
    readonly test: SplitSummary;
    /** Validation split, when it differs from the fine-tuning set. */
    readonly validation?: SplitSummary;
  };
  readonly cost: RunCost;
}

export interface RunCost {
  /** Wall-clock seconds of the fine-tuning (or training) step. */
  readonly seconds: number;
  /** Parameters trained by this run (the head: weights + biases). */
  readonly parametersTrained: number;
  /** Parameters in the whole network (backbone + head), for comparison. */
  readonly parametersTotal: number;
  /** Rows in the fine-tuning set. */
  readonly finetuneRows: number;
  /** Seconds to pre-train or embed with the backbone, when measured in this run. */
  readonly backboneSeconds?: number;
  readonly optimizer?: string;
  readonly iterations?: number;
  /**
   * L-BFGS fits without a gap target: whether the optimiser met its tolerance; false when it stopped at its
   * iteration cap (or its line search failed) first.
   */
  readonly converged?: boolean;
}

/** Metrics of one model on one split. Differences are max - min over groups; ratios min / max (fairlearn). */
export interface SplitSummary {
  readonly rows: number;
  readonly accuracy: number;
  readonly balancedAccuracy: number;
  readonly auc: number;
  readonly demographicParityDifference: number;
  readonly demographicParityRatio: number;
  readonly equalizedOddsDifference: number;
  readonly equalizedOddsRatio: number;
  readonly equalOpportunityDifference: number;
  readonly accuracyEqualityDifference: number;
  readonly worstGroupAccuracy: number;
  /** Worst accuracy over the (label, group) cells, as in the paper's CelebA tables. */
  readonly worstCellAccuracy: number;
  readonly byGroup: Readonly<Record<string, GroupRow>>;
  /**
   * Seeded bootstrap 95% intervals of the headline metrics: on test data with `--bootstrap n`, and on the train,
   * validation and test splits that have a group or (label, group) cell under SMALL_CELL_ROWS rows (docs/small-cells.md).
   */
  readonly intervals?: Readonly<Record<string, readonly [number, number]>>;
}

export interface GroupRow {
  readonly count: number;
  /**
   * Rows of the group whose true label is positive (`count - positives` are negative): the sizes of its (label,
   * group) cells, on which TPR and FPR are measured. Absent in files written before it was added.
   */
  readonly positives?: number;
  readonly accuracy: number;
  readonly selectionRate: number;
  readonly tpr: number;
  readonly fpr: number;
  readonly fnr: number;
  readonly tnr: number;
  readonly auc: number;
}
