import { ConvergenceError, InputError, ShapeError } from '../errors.ts';
import type { EmbeddingSet } from '../data/dataset.ts';
import { diskRows, findNonFinite, readDiskRows, type DiskEmbeddingSet } from '../data/disk-matrix.ts';
import { takeInts, takeRows, type Matrix } from '../data/matrix.ts';
import { LinearHead } from '../head/linear-head.ts';
import type { Penalty, PenaltyName, PenaltyOptions } from '../fairness/penalties/penalty.ts';
import { createPenalty, predictionTable } from '../fairness/penalties/index.ts';
import { binaryPredictionTable, rowCells, type RowCells } from './cell-order.ts';
import { createLinearOps } from './create-ops.ts';
import { stratifiedHoldout } from './holdout.ts';
import { minimizeLbfgs } from './lbfgs.ts';
import type { LinearOps } from './linear-ops.ts';
import { HeadObjective } from './objective.ts';
import { paperSgd } from './paper-sgd.ts';
import { CHECK_ROWS, preconditionerFor, sampleRows, wellConditioned, MAX_PRECONDITIONED_FEATURES, type Preconditioner } from './preconditioner.ts';
import { createRng } from '../rng.ts';
import { createStreamingOps, type StreamingOpsOptions } from './streaming-ops.ts';
import { allFinite } from './_internal/vectors.ts';

/** The criteria `fitHead` accepts: 'none' (cross-entropy only) or a registered penalty name. */
export type ConstraintName = 'none' | PenaltyName;

/** With a {@link FitOptions.signal}, a fit lets the event loop run at least this often (milliseconds). */
const YIELD_MS = 5;

/** Default cap on L-BFGS iterations (see {@link FitOptions.maxIterations}). */
export const LBFGS_MAX_ITERATIONS = 5000;

/** The optimisers of {@link fitHead}. */
export const OPTIMIZERS = ['lbfgs', 'paper'] as const;

/** What `onProgress` receives: after every L-BFGS iteration / SGD epoch, and after every fit in target mode. */
export interface FitProgress {
  readonly phase: 'lbfgs' | 'paper' | 'target';
  /** Iteration (lbfgs), epoch (paper) or fit number (target). */
  readonly iteration: number;
  readonly objective: number;
  readonly alpha: number;
  /** Target mode only: the hard gap of the fit just made. */
  readonly gap?: number;
}

/** Options of {@link fitHead}; every field is optional. */
export interface FitOptions {
  /** Fairness criterion (default 'none': cross-entropy only). */
  readonly constraint?: ConstraintName;
  /** Penalty weight in CE + alpha * penalty (default 1; ignored by 'none' and 'mmf'). */
  readonly alpha?: number;
  /**
   * Target mode: find the most accurate head whose hard fairness gap ({@link Penalty.hardGap}) on the fine-tuning
   * set is at most maxGap, by searching alpha (0, then alpha, 4 alpha, 16 alpha ... up to 1e4, then 6 bisection
   * steps on log alpha; every fit warm-started). Needs a constraint other than 'none' / 'mmf'.
   */
  readonly maxGap?: number;
  /** 'lbfgs' (default): L-BFGS to convergence on the smoothed objective + L2. 'paper': the paper's SGD recipe. */
  readonly optimizer?: 'lbfgs' | 'paper';
  /** lbfgs: L2 strength on the weights, objective + l2/2 ||W||^2 (default 1e-4). paper: the weight decay (default 5e-4). */
  readonly l2?: number;
  /** Seed of everything random (paper: initial weights and the hold-out split). Default 0. */
  readonly seed?: number;
  /** Weight the cross-entropy of class c by n / (K n_c) (default false). */
  readonly classWeighted?: boolean;
  /**
   * Row weights by (label, group) cell: every row of cell (y, g) counts cellWeights[y * G + g] times, in the
   * cross-entropy and in the penalty (see HeadObjective; K x G finite values > 0). Default: 1 each. The hard gap
   * reported (and target mode's) is the unweighted one of the set.
   */
  readonly cellWeights?: Float64Array;
  /**
   * lbfgs: stop when an iteration lowers the objective by less than this fraction (default 1e-7; the objective is
   * then stable to about 5 digits: on a 4,640 x 512 EO fit, 34 iterations instead of 50 at 1e-10, same test metrics).
   */
  readonly tolerance?: number;
  /**
   * lbfgs: iterations (default 5,000, a guard against a fit that never settles: L-BFGS runs to its tolerance);
   * paper: epochs (default 1000).
   */
  readonly maxIterations?: number;
  /**
   * Options of the penalty. Default smoothing: 'logsumexp' (tau 0.01) for lbfgs, 'none' for paper; default
   * rate 'conditional' (the peer's; `{ rate: 'group' }` is Mao et al.'s code).
   */
  readonly penaltyOptions?: PenaltyOptions;
  /** paper: fraction of the fine-tuning set held out for early stopping (default 0.2; 0 = monitor the fit set). */
  readonly holdoutFraction?: number;
  /**
   * lbfgs: run L-BFGS in preconditioned variables where the features call for it (default true: heads on at most
   * {@link MAX_PRECONDITIONED_FEATURES} features that {@link wellConditioned} does not pass, from 256 sampled rows):
   * the Cholesky factor of the cross-entropy's Hessian bound on a sample of the rows (see {@link Preconditioner}).
   * The optimum is the same; L-BFGS reaches it in several times fewer
   * iterations on correlated features, and closer (UTKFace face-api M2 + EO at alpha 1-32: 32-96 iterations instead
   * of 465-677, ending 3e-7 to 5e-6 above the optimum's objective instead of 3e-4 to 6e-3; bench/convergence.ts).
   */
  readonly precondition?: boolean;
  /**
   * lbfgs with a penalty at alpha > 1 (no `init`, no `maxGap`): fit along the strengths 1, 10, 100, ... below alpha,
   * each from the head of the one before (1: from zeros), and then alpha from the last (default true). On strong
   * penalties the smoothed penalty's narrow valley stops a fit from zeros early (UTKFace M2 + EO at alpha 100-1000,
   * preconditioned: 158-229 iterations, 3e-5 to 2e-4 above the optimum); through the steps, 73-77 iterations in all
   * and 7e-6 (bench/convergence.ts). The path is fixed, so a head depends only on the data and the options,
   * whichever caller fits it.
   */
  readonly continuation?: boolean;
  /**
   * The heads of the continuation's strengths already fitted on this fine-tuning set with these options, reused
   * and filled in (a caller fitting many strengths on one set, such as `fairhead explore`, keeps one per set).
   */
  readonly path?: FitPath;
  /** Linear ops over `data.x` to use (lbfgs; the caller closes them). Default: created and closed here. */
  readonly ops?: LinearOps;
  /** Starting head (default: zeros for lbfgs, PyTorch-style random for paper). */
  readonly init?: LinearHead;
  readonly onProgress?: (info: FitProgress) => void;
  /**
   * Stops the fit: checked before each fit and after every L-BFGS iteration or SGD epoch; once aborted, fitHead
   * rejects with the signal's reason (an AbortError unless given) and frees what it made. With a signal, an L-BFGS
   * fit also lets the event loop run every 5 ms (a server's requests, the abort itself), since ops on the calling
   * thread otherwise resolve as microtasks. `fairhead explore` drops a fit that a newer request made stale this way.
   */
  readonly signal?: AbortSignal;
}

/**
 * The heads {@link fitHead} fitted at the continuation's strengths (1, 10, 100, ...) for one fine-tuning set and one
 * set of options other than alpha; pass it as {@link FitOptions.path} to every fit of that set and those options.
 *
 * @example
 * const path = new FitPath();
 * await fitHead(set, { constraint: 'eo', alpha: 300, path }); // fits 1, 10, 100, then 300
 * await fitHead(set, { constraint: 'eo', alpha: 500, path }); // 500 from the head at 100
 */
export class FitPath {
  private readonly heads = new Map<number, Float64Array>();

  /** Strengths held. */
  get size(): number {
    return this.heads.size;
  }

  /** The parameters fitted at `alpha`, if held. */
  get(alpha: number): Float64Array | undefined {
    return this.heads.get(alpha);
  }

  set(alpha: number, theta: Float64Array): void {
    this.heads.set(alpha, theta);
  }
}

/** The continuation's strengths below `alpha`: 1, 10, 100, ... (none for alpha <= 1). */
export function continuationSteps(alpha: number): number[] {
  const steps: number[] = [];
  for (let a = 1; a < alpha && steps.length < 300; a *= 10) steps.push(a);
  return steps;
}

/** Result of {@link fitHead}. */
export interface FitResult {
  readonly head: LinearHead;
  /** The alpha used (target mode: the one found; no penalty: 0). */
  readonly alpha: number;
  /** L-BFGS iterations or SGD epochs (target mode: summed over all fits). */
  readonly iterations: number;
  /** The optimised objective at the head (lbfgs: on the fine-tuning set, with L2; paper: on its fit rows, without weight decay). */
  readonly objective: number;
  /** Exact (unsmoothed) penalty at the head on the whole fine-tuning set; 0 without a constraint. */
  readonly penalty: number;
  readonly seconds: number;
  /** lbfgs: a tolerance was met; paper: early stopping triggered; target mode: also the target was met. */
  readonly converged: boolean;
  /** Accuracy on the fine-tuning set. */
  readonly accuracy: number;
  /** Hard fairness gap of the constraint on the fine-tuning set (absent without a constraint). */
  readonly gap?: number;
  /** Target mode: whether a head with gap <= maxGap was found (if not, the head with the smallest gap is returned). */
  readonly targetMet?: boolean;
}

interface OneFit {
  readonly theta: Float64Array;
  readonly iterations: number;
  readonly objective: number;
  readonly converged: boolean;
}

interface Measured extends OneFit {
  readonly alpha: number;
  readonly accuracy: number;
  readonly gap: number;
}

/**
 * Train a linear head on frozen embeddings with cross-entropy + alpha * fairness penalty.
 *
 *   minimise  (1/n) sum_i w_{y_i} CE_i + alpha * P  (+ l2/2 ||W||^2),   binary: 1 logit + sigmoid; K > 2: softmax
 *
 * Deterministic: the same data, options and seed give identical weights. Errors: InputError for an unknown
 * constraint or option, a fine-tuning set lacking a (label, group) cell the penalty needs, or non-finite
 * features; ShapeError for mismatched sizes; ConvergenceError if the weights become non-finite.
 *
 * @example
 * const r = await fitHead(set, { constraint: 'eo', alpha: 1 });
 * r.head.predict(testSet.x); r.converged; // true
 */
export async function fitHead(data: EmbeddingSet, options: FitOptions = {}): Promise<FitResult> {
  const started = performance.now();
  const cells = checkSet(data);
  checkShape(data);
  return fitChecked(data, options, started, cells, (rows) => takeRows(data.x, rows), true);
}

/** Options of {@link fitHeadOnDisk}: those of {@link fitHead} (optimizer 'lbfgs' only) and how to stream. */
export interface FitOnDiskOptions extends FitOptions {
  /** Threads and chunk size of the streaming ops (ignored when `ops` is given). */
  readonly streaming?: StreamingOpsOptions;
}

/**
 * {@link fitHead} on embeddings that stay on disk (larger than memory): the same objective, minimised by
 * full-batch L-BFGS whose every forward / backward pass streams the rows from the file
 * ({@link createStreamingOps}), so the weights equal those of fitHead on the same rows up to float64 rounding.
 * The finite-feature check streams too. Memory: O(n x k) for logits and gradients plus the chunk buffers.
 * The paper's SGD recipe needs the set in memory (mini-batches, a held-out split): InputError.
 *
 * @example
 * const r = await fitHeadOnDisk({ x: diskRows(openDiskMatrix('big.npy')), y, group, classes, groupNames });
 * r.head.weights; // as fitHead would give on the same rows
 */
export async function fitHeadOnDisk(data: DiskEmbeddingSet, options: FitOnDiskOptions = {}): Promise<FitResult> {
  const started = performance.now();
  if ((options.optimizer ?? 'lbfgs') !== 'lbfgs') {
    throw new InputError(
      `optimizer "${String(options.optimizer)}" needs the fine-tuning set in memory (mini-batches and a held-out split); embeddings streamed from disk train with "lbfgs" (full-batch, exact), or raise --max-memory`,
    );
  }
  // only rows and cols of x are read past this point: the values come through the streaming ops
  const shape: EmbeddingSet = { ...data, x: { data: new Float32Array(0), rows: data.x.rows, cols: data.x.cols } };
  const cells = checkSet(shape);
  const bad = await findNonFinite(data.x);
  if (bad) {
    const fileRow = data.x.index ? (data.x.index[bad.row] as number) : bad.row;
    throw new InputError(`${data.x.matrix.file}: embedding row ${fileRow} (0-based), column ${bad.col} is ${bad.value}: features must be finite numbers`);
  }
  const k = data.classes.length === 2 ? 1 : data.classes.length;
  const ops = options.ops ?? (await createStreamingOps(data.x, k, options.streaming));
  try {
    const index = data.x.index;
    const sample = (rows: Int32Array): Promise<Matrix> => readDiskRows(diskRows(data.x.matrix, index ? rows.map((r) => index[r] as number) : rows));
    return await fitChecked(shape, { ...options, ops }, started, cells, sample);
  } finally {
    if (!options.ops) await ops.close();
  }
}

/**
 * fitHead after the data checks (`cells`: its rows' cells, from checkSet); `data.x` is used for its shape, and for
 * its values only when no `ops` are given; `sample` reads the rows listed (ascending) for the preconditioner.
 */
async function fitChecked(
  data: EmbeddingSet,
  options: FitOptions,
  started: number,
  cells: RowCells,
  sample: (rows: Int32Array) => Matrix | Promise<Matrix>,
  checkValues = false,
): Promise<FitResult> {
  const constraint = options.constraint ?? 'none';
  const optimizer = options.optimizer ?? 'lbfgs';
  if (!(OPTIMIZERS as readonly string[]).includes(optimizer)) {
    throw new InputError(`Unknown optimizer "${String(optimizer)}". Valid: ${OPTIMIZERS.join(', ')}`);
  }
  const alphaOption = options.alpha ?? 1;
  checkNumber('alpha', alphaOption, 0, Infinity);
  const l2 = options.l2 ?? (optimizer === 'lbfgs' ? 1e-4 : 5e-4);
  checkNumber('l2', l2, 0, Infinity);
  const seed = options.seed ?? 0;
  checkNumber('seed', seed, -Infinity, Infinity);
  const holdoutFraction = options.holdoutFraction ?? 0.2;
  checkNumber('holdoutFraction', holdoutFraction, 0, 0.9);
  if (options.maxIterations !== undefined && !(Number.isInteger(options.maxIterations) && options.maxIterations >= 1)) {
    throw new InputError(`maxIterations must be an integer >= 1, received ${options.maxIterations}`);
  }

  let penalty: Penalty | null = null;
  let exact: Penalty | null = null;
  if (constraint !== 'none') {
    const defaults: PenaltyOptions = { smoothing: optimizer === 'lbfgs' ? 'logsumexp' : 'none' };
    penalty = createPenalty(constraint, { ...defaults, ...options.penaltyOptions });
    exact = createPenalty(constraint, { ...penalty.options, smoothing: 'none' });
    penalty.checkCells({ y: data.y, group: data.group, classes: data.classes, groupNames: data.groupNames, cellCounts: cells.counts }, 'fine-tuning set');
  }
  const alpha = penalty && !penalty.replacesLoss ? alphaOption : 0;
  if (options.maxGap !== undefined) {
    checkNumber('maxGap', options.maxGap, 0, 1);
    if (!penalty || penalty.replacesLoss) {
      throw new InputError(`maxGap needs a constraint whose weight can be tuned (eo, dp, eopp, di, ae), received "${constraint}"`);
    }
  }

  const K = data.classes.length;
  const k = K === 2 ? 1 : K;
  const d = data.x.cols;
  if (options.init) {
    if (options.init.inputDim !== d) throw new ShapeError(`init head expects ${options.init.inputDim} features, the embeddings have ${d}`);
    if (options.init.classes.length !== K) throw new ShapeError(`init head has ${options.init.classes.length} classes, the data has ${K}`);
  }
  const classWeights = options.classWeighted ? balancedClassWeights(data.y, K) : null;
  const cellWeights = options.cellWeights ?? null;
  if (cellWeights && (cellWeights.length !== K * data.groupNames.length || !cellWeights.every((v) => Number.isFinite(v) && v > 0))) {
    throw new InputError(`option cellWeights: expected ${K} x ${data.groupNames.length} = ${K * data.groupNames.length} finite weights > 0 (one per (label, group) cell), received ${cellWeights.length} values`);
  }
  const rng = createRng(seed);
  const ownOps: LinearOps[] = [];
  const newOps = async (rows: Int32Array | null): Promise<LinearOps> => {
    const ops = await createLinearOps(rows ? takeRows(data.x, rows) : data.x, k);
    ownOps.push(ops);
    return ops;
  };
  const objectiveOver = (ops: LinearOps, rows: Int32Array | null, a: number, reg: number): HeadObjective =>
    new HeadObjective({
      ops,
      y: rows ? takeInts(data.y, rows) : data.y,
      group: rows ? takeInts(data.group, rows) : data.group,
      ...(rows ? {} : { codes: cells.codes }),
      classCount: K,
      groupCount: data.groupNames.length,
      penalty,
      alpha: a,
      l2: reg,
      classWeights,
      cellWeights,
    });

  try {
    let fullOps = options.ops;
    if (fullOps) {
      if (fullOps.rows !== data.x.rows || fullOps.cols !== d || fullOps.outputs !== k) {
        throw new ShapeError(`ops are ${fullOps.rows} x ${fullOps.cols} with ${fullOps.outputs} outputs, expected ${data.x.rows} x ${d} with ${k}`);
      }
    } else {
      fullOps = await newOps(null);
    }
    const full = fullOps;
    // lbfgs: a non-finite feature makes its row's logit NaN whatever the weights (0 x NaN and 0 x inf are NaN),
    // so the first evaluation finds it and the features are scanned only then; paper: before it samples anything
    if (checkValues && optimizer === 'paper') await checkFeatures(full, data);

    // paper: fit / hold-out split, made once (same for every alpha in target mode)
    let paperParts: { fit: HeadObjective | null; fitRows: Int32Array | null; monitorRows: Int32Array | null; monitorOps: LinearOps | null; fitOps: LinearOps | null } | null = null;
    if (optimizer === 'paper') {
      if (holdoutFraction > 0) {
        const split = stratifiedHoldout(data.y, data.group, K, data.groupNames.length, holdoutFraction, rng);
        paperParts = { fit: null, fitRows: split.fit, monitorRows: split.holdout, fitOps: await newOps(split.fit), monitorOps: await newOps(split.holdout) };
      } else {
        paperParts = { fit: null, fitRows: null, monitorRows: null, fitOps: full, monitorOps: full };
      }
    }

    let randomInit = optimizer === 'paper' && !options.init;
    const signal = options.signal;
    // with a signal, give the event loop a turn every few milliseconds: ops that run on the calling thread resolve
    // as microtasks, so without it a whole fit (and the request that would abort it) would wait for each other
    let turn = performance.now();
    const yieldTurn = async (): Promise<void> => {
      if (!signal || performance.now() - turn < YIELD_MS) return;
      await new Promise((resolve) => setImmediate(resolve));
      turn = performance.now();
      signal.throwIfAborted();
    };
    // lbfgs: made at the first fit, for every fit of this call (target mode's); null: plain L-BFGS
    let preconditioner: Preconditioner | null | undefined;
    const iterationCap = options.maxIterations ?? LBFGS_MAX_ITERATIONS;
    // cap: lbfgs's iterations for this fit (default iterationCap)
    const runFit = async (a: number, theta0: Float64Array, cap = iterationCap): Promise<OneFit> => {
      signal?.throwIfAborted();
      if (optimizer === 'lbfgs') {
        const objective = objectiveOver(full, null, a, l2);
        if (preconditioner === undefined) {
          preconditioner = null;
          if ((options.precondition ?? true) && d <= MAX_PRECONDITIONED_FEATURES) {
            const n = data.x.rows;
            if (!wellConditioned(await sample(sampleRows(n, d, CHECK_ROWS)))) preconditioner = preconditionerFor(await sample(sampleRows(n, d)), l2);
          }
        }
        // L-BFGS in u: theta = L^-T u with a preconditioner, else theta itself
        const pre = preconditioner;
        const theta = new Float64Array(theta0.length);
        const gTheta = new Float64Array(theta0.length);
        let u0 = theta0;
        if (pre) {
          u0 = new Float64Array(theta0.length);
          pre.fromTheta(theta0, u0, k);
        }
        let r;
        try {
          r = await minimizeLbfgs(async (x, g) => {
            await yieldTurn();
            if (!pre) return (await objective.evaluate(x, g)).objective;
            pre.toTheta(x, theta, k);
            const value = (await objective.evaluate(theta, gTheta)).objective;
            pre.toGradient(gTheta, g, k);
            return value;
          }, u0, {
            maxIterations: cap,
            relativeTolerance: options.tolerance ?? 1e-7,
            memory: lbfgsMemory(theta0.length),
            onIteration: (iteration, value) => {
              signal?.throwIfAborted();
              options.onProgress?.({ phase: 'lbfgs', iteration, objective: value, alpha: a });
            },
          });
        } catch (error) {
          // not finite at the start: a non-finite feature (named by checkFeatures), else the starting head
          if (checkValues && error instanceof RangeError) await checkFeatures(full, data);
          throw error;
        }
        let thetaEnd = r.x;
        if (pre) {
          thetaEnd = new Float64Array(r.x.length);
          pre.toTheta(r.x, thetaEnd, k);
        }
        return { theta: thetaEnd, iterations: r.iterations, objective: r.value, converged: r.converged };
      }
      const parts = paperParts!;
      const fit = objectiveOver(parts.fitOps!, parts.fitRows, a, 0);
      const monitor = objectiveOver(parts.monitorOps!, parts.monitorRows, a, 0);
      const r = await paperSgd(fit, monitor, theta0, rng, randomInit, {
        weightDecay: l2,
        maxEpochs: options.maxIterations ?? 1000,
        onEpoch: (epoch, value) => {
          signal?.throwIfAborted();
          options.onProgress?.({ phase: 'paper', iteration: epoch, objective: value, alpha: a });
        },
      });
      randomInit = false;
      const objective = (await fit.evaluate(r.theta)).objective;
      return { theta: r.theta, iterations: r.epochs, objective, converged: r.stoppedEarly };
    };

    const measureObjective = objectiveOver(full, null, 0, 0);
    // the fit whose logits measureObjective holds: the exact penalty of the chosen head reuses them
    let lastMeasured: Measured | null = null;
    const measure = async (fit: OneFit, a: number): Promise<Measured> => {
      if (!allFinite(fit.theta)) {
        throw new ConvergenceError(`training produced non-finite weights (optimizer ${optimizer}, alpha ${a}); try a larger l2 or a smaller alpha`);
      }
      const z = await measureObjective.logits(fit.theta);
      // the rows by (label, group, predicted class), from which the accuracy and the hard gap are read
      const G = data.groupNames.length;
      const table = k === 1 ? binaryPredictionTable(z, cells.codes, K * G) : predictionTable(predictFromLogits(z, k), data.y, data.group, K, G);
      let correct = 0;
      for (let c = 0; c < K * G; c++) correct += table[c * K + Math.floor(c / G)] as number;
      const gap = exact ? exact.hardGapOfTable(table, K, G) : NaN;
      lastMeasured = { ...fit, alpha: a, accuracy: correct / data.y.length, gap };
      return lastMeasured;
    };

    const theta0 = options.init ? headToTheta(options.init) : new Float64Array(k * d + k);
    let chosen: Measured;
    let iterations = 0;
    let targetMet: boolean | undefined;
    if (options.maxGap === undefined) {
      let start = theta0;
      let pathIterations = 0;
      if (optimizer === 'lbfgs' && penalty && alpha > 1 && !options.init && (options.continuation ?? true)) {
        // the steps and the last fit share the iteration cap; a step stopped by it is not kept in the path
        for (const a of continuationSteps(alpha)) {
          const held = options.path?.get(a);
          if (held) {
            start = held;
            continue;
          }
          const step = await runFit(a, start, iterationCap - pathIterations);
          pathIterations += step.iterations;
          start = step.theta;
          if (pathIterations >= iterationCap) break;
          options.path?.set(a, start);
        }
      }
      chosen = await measure(await runFit(alpha, start, iterationCap - pathIterations), alpha);
      iterations = chosen.iterations + pathIterations;
    } else {
      const target = options.maxGap;
      const tried: Measured[] = [];
      let fitNumber = 0;
      const tryAlpha = async (a: number, warm: Float64Array): Promise<Measured> => {
        const m = await measure(await runFit(a, warm), a);
        tried.push(m);
        iterations += m.iterations;
        options.onProgress?.({ phase: 'target', iteration: ++fitNumber, objective: m.objective, alpha: a, gap: m.gap });
        return m;
      };
      const first = await tryAlpha(0, theta0);
      if (first.gap <= target) {
        chosen = first;
      } else {
        let lo = 0;
        let hi = NaN;
        let a = alphaOption > 0 ? alphaOption : 1;
        let warm = first.theta;
        while (a <= 1e4) {
          const m = await tryAlpha(a, warm);
          warm = m.theta;
          if (m.gap <= target) {
            hi = a;
            break;
          }
          lo = a;
          a *= 4;
        }
        if (!Number.isNaN(hi)) {
          for (let step = 0; step < 6; step++) {
            const mid = lo > 0 ? Math.sqrt(lo * hi) : hi / 4;
            const m = await tryAlpha(mid, warm);
            warm = m.theta;
            if (m.gap <= target) hi = mid;
            else lo = mid;
          }
        }
        const feasible = tried.filter((m) => m.gap <= target);
        if (feasible.length > 0) {
          chosen = feasible.reduce((b, m) => (m.accuracy > b.accuracy || (m.accuracy === b.accuracy && m.alpha < b.alpha) ? m : b));
        } else {
          chosen = tried.reduce((b, m) => (m.gap < b.gap ? m : b));
        }
      }
      targetMet = chosen.gap <= target;
    }

    const head = thetaToHead(chosen.theta, data.classes, d, k);
    // by cells: one pass's cell sums, no per-row work; by rows: the measured logits when they are the chosen head's
    const reuseLogits = chosen === lastMeasured && !measureObjective.byCells;
    const penaltyValue = !exact ? 0 : reuseLogits ? measureObjective.penaltyOfLogits(exact) : await measureObjective.penaltyAt(chosen.theta, exact);
    const result: FitResult = {
      head,
      alpha: chosen.alpha,
      iterations,
      objective: chosen.objective,
      penalty: penaltyValue,
      seconds: (performance.now() - started) / 1000,
      converged: chosen.converged && (targetMet ?? true),
      accuracy: chosen.accuracy,
      ...(exact ? { gap: chosen.gap } : {}),
      ...(targetMet !== undefined ? { targetMet } : {}),
    };
    return result;
  } finally {
    for (const ops of ownOps) await ops.close();
  }
}

/**
 * L-BFGS history pairs for a head of `size` parameters: 30, fewer (down to 10) where 30 pairs of float64 vectors
 * would pass 64 MiB (from about 140,000 parameters). A head has a few hundred to a few tens of thousands of
 * parameters, so the recursion's cost (4 x pairs x size per iteration) is small beside a pass over X; on the M2 + EO
 * fits of `npm run bench -- head` (513 parameters), 30 pairs needed 28 evaluations per fit where 10 needed 34
 * (mean of seeds 0-4), at the same objective to 6 digits.
 */
export function lbfgsMemory(size: number): number {
  return Math.max(10, Math.min(30, Math.floor(2 ** 26 / (16 * size))));
}

/** Class weights n / (K n_c) (absent classes: 0), so the weighted mean cross-entropy keeps its scale. */
export function balancedClassWeights(y: Int32Array, classCount: number): Float64Array {
  const counts = new Float64Array(classCount);
  for (let i = 0; i < y.length; i++) counts[y[i] as number] = (counts[y[i] as number] as number) + 1;
  const w = new Float64Array(classCount);
  for (let c = 0; c < classCount; c++) w[c] = (counts[c] as number) > 0 ? y.length / (classCount * (counts[c] as number)) : 0;
  return w;
}

/** Parameters theta = [W, b] of a head. */
export function headToTheta(head: LinearHead): Float64Array {
  const theta = new Float64Array(head.weights.length + head.bias.length);
  theta.set(head.weights);
  theta.set(head.bias, head.weights.length);
  return theta;
}

/** A head from parameters theta = [W (k x d), b (k)]. */
export function thetaToHead(theta: Float64Array, classes: readonly string[], d: number, k: number): LinearHead {
  return new LinearHead(classes, d, theta.slice(0, k * d), theta.slice(k * d, k * d + k));
}

function predictFromLogits(z: Float64Array, k: number): Int32Array {
  const n = z.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (k === 1) {
      out[i] = (z[i] as number) >= 0 ? 1 : 0;
      continue;
    }
    let best = 0;
    for (let j = 1; j < k; j++) if ((z[i * k + j] as number) > (z[i * k + best] as number)) best = j;
    out[i] = best;
  }
  return out;
}

function checkNumber(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? (min === -Infinity ? 'finite' : `finite and >= ${min}`) : `between ${min} and ${max}`;
    throw new InputError(`option ${name} must be a number ${range}, received ${String(value)}`);
  }
}

/**
 * Sizes agree, label and group indices in range (the matrix: {@link checkShape}, its values: {@link checkFeatures});
 * returns each row's (label, group) cell and the cells' sizes.
 */
function checkSet(data: EmbeddingSet): RowCells {
  const { x, y, group, classes, groupNames } = data;
  if (x.rows === 0) throw new InputError('fine-tuning set is empty');
  if (y.length !== x.rows) throw new ShapeError(`embeddings have ${x.rows} rows but there are ${y.length} labels`);
  if (group.length !== x.rows) throw new ShapeError(`embeddings have ${x.rows} rows but there are ${group.length} group values`);
  if (classes.length < 2) throw new InputError(`a head needs at least 2 classes, received ${classes.length}`);
  const cells = rowCells(y, group, classes.length, groupNames.length);
  if ('codes' in cells) return cells;
  const i = cells.outside;
  const v = y[i] as number;
  if (v < 0 || v >= classes.length) throw new InputError(`row ${i}: label index ${v} is outside 0..${classes.length - 1} (classes: ${classes.join(', ')})`);
  const g = group[i] as number;
  throw new InputError(`row ${i}: group index ${g} is outside 0..${groupNames.length - 1} (groups: ${groupNames.join(', ')})`);
}

/** The feature matrix holds rows x cols values (their values: {@link checkFeatures}). */
function checkShape(data: EmbeddingSet): void {
  const { x } = data;
  if (x.data.length !== x.rows * x.cols) throw new ShapeError(`embedding matrix of ${x.rows} x ${x.cols} holds ${x.data.length} values`);
}

/**
 * Every feature is finite: one forward pass of `ops` (over data.x) with zero weights, since 0 * v is 0 for a finite
 * v and NaN for NaN or an infinity, so a row's logits are 0 exactly when the row is finite. On an M2 set (6,100 x
 * 512) the WebAssembly kernels take a fraction of a millisecond where a JavaScript scan took several. The culprit
 * is then looked for in the first row that fails. L-BFGS fits call it only when their first evaluation is not
 * finite, which any non-finite feature makes it.
 */
async function checkFeatures(ops: LinearOps, data: EmbeddingSet): Promise<void> {
  const k = ops.outputs;
  const z = new Float64Array(ops.rows * k);
  await ops.forward(new Float64Array(k * ops.cols), new Float64Array(k), z);
  let bad = 0;
  while (bad < z.length && z[bad] === 0) bad++;
  if (bad === z.length) return;
  const row = Math.floor(bad / k);
  const { x } = data;
  for (let c = 0; c < x.cols; c++) {
    const v = x.data[row * x.cols + c] as number;
    if (!Number.isFinite(v)) throw new InputError(`embedding row ${row}, column ${c} is ${v}: features must be finite numbers`);
  }
  throw new InputError(`embedding row ${row} gives a non-finite logit with zero weights: features must be finite numbers`);
}
