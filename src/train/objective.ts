import type { Penalty, PenaltyInput } from '../fairness/penalties/penalty.ts';
import type { LinearOps } from './linear-ops.ts';
import { CELL_SCALARS, cellStride } from './_internal/cell-pass.mjs';
import { addScaled, dot } from './_internal/vectors.ts';

/** What {@link HeadObjective} needs besides the embeddings (which live in `ops`). */
export interface ObjectiveConfig {
  readonly ops: LinearOps;
  /** Class index per row. */
  readonly y: Int32Array;
  /** Group index per row. */
  readonly group: Int32Array;
  readonly classCount: number;
  readonly groupCount: number;
  /** null: cross-entropy only. */
  readonly penalty: Penalty | null;
  /** Weight of the penalty (ignored by penalties that replace the loss). */
  readonly alpha: number;
  /** L2 strength on the weights (not the bias): adds l2 / 2 * ||W||^2. */
  readonly l2: number;
  /** Per-class weights of the cross-entropy (null: all 1). */
  readonly classWeights: Float64Array | null;
  /**
   * Per-(label, group) cell weights, cellWeights[y * groupCount + g] for every row of that cell (absent or null: all
   * 1): each row then counts as that many rows, in the cross-entropy (times its class weight) and in the penalty
   * (whose group rates become weighted means). Weights constant within a cell leave the cell's own rates as they are
   * (TPR, FPR: eo, eopp; mmf), and change the rates that mix cells (dp, di, ae).
   */
  readonly cellWeights?: Float64Array | null;
  /** Each row's cell y * groupCount + group, when the caller has them (cell-order.ts rowCells); else made here. */
  readonly codes?: Int32Array;
}

/** The parts of one objective evaluation. */
export interface ObjectiveValue {
  /** loss + alpha * penalty + l2 / 2 * ||W||^2 (penalty replacing the loss: penalty + l2 term). */
  readonly objective: number;
  /** Mean (class-weighted) cross-entropy, (1/n) sum_i w_{y_i} CE_i. */
  readonly loss: number;
  /** The penalty's value as configured (smoothed if its options say so); 0 without a penalty. */
  readonly penalty: number;
}

/**
 * The training objective of a linear head over a fixed fine-tuning set, with its exact gradient.
 *
 *   f(W, b) = (1/n) sum_i w_{y_i} v_{c_i} CE_i  +  alpha * P(p, CE; v)  +  l2/2 * ||W||^2,   z = X W^T + b
 *   (w: class weights, v: cell weights, c_i = row i's (label, group) cell; P(.; v) counts row i v_{c_i} times)
 *   binary: p_i = sigmoid(z_i), CE_i = softplus(z_i) - y_i z_i;   K > 2: P = softmax(z_i), CE_i = logsumexp(z_i) - z_{i,y_i}
 *
 * Parameters are one Float64Array theta = [W (k x d, row-major), b (k)], k = 1 (binary) or K. All O(n*d) work
 * is in the LinearOps: for a binary head over ops with `binaryCellSums` (the WebAssembly ops), one pass over X
 * gives per-(label, group) cell sums from which the objective and its gradient follow exactly (see
 * evaluateByCells), or the same pass in two halves where the ops offer `binaryCellScalars` (X small enough to stay
 * in cache); otherwise two calls (forward for z, backward for the gradient) and O(n*k) work here.
 *
 * @example
 * const f = new HeadObjective({ ops, y, group, classCount: 2, groupCount: 2, penalty: null, alpha: 0, l2: 0, classWeights: null });
 * await f.evaluate(new Float64Array(f.size)); // { objective: log 2, loss: log 2, penalty: 0 }  (all-zero head)
 */
export class HeadObjective {
  /** Number of parameters: k*d + k. */
  readonly size: number;
  readonly outputs: number;
  readonly rows: number;
  readonly cols: number;
  /** Per-row buffers (7 x n x k float64), made on first use: the one-pass binary evaluation never needs them. */
  private rowBuffers: RowBuffers | null = null;
  private zOnly: Float64Array | null = null;
  /** Binary heads over ops with {@link LinearOps.binaryCellSums}: the one-pass evaluation's row codes and buffers. */
  private readonly cells: CellBuffers | null;

  constructor(readonly config: ObjectiveConfig) {
    const { ops } = config;
    this.outputs = ops.outputs;
    this.rows = ops.rows;
    this.cols = ops.cols;
    this.size = ops.outputs * ops.cols + ops.outputs;
    this.cells = ops.outputs === 1 && ops.binaryCellSums ? cellBuffers(config, ops.cols) : null;
  }

  private get row(): RowBuffers {
    if (this.rowBuffers) return this.rowBuffers;
    const { y, classWeights } = this.config;
    const n = this.rows;
    const k = this.outputs;
    const rowWeight = new Float64Array(n);
    const cw = this.config.cellWeights ?? null;
    const G = this.config.groupCount;
    const rowCount = cw ? new Float64Array(n) : null;
    for (let i = 0; i < n; i++) {
      const v = cw ? (cw[(y[i] as number) * G + (this.config.group[i] as number)] as number) : 1;
      if (rowCount) rowCount[i] = v;
      rowWeight[i] = ((classWeights ? (classWeights[y[i] as number] as number) : 1) * v) / n;
    }
    this.rowBuffers = {
      z: this.zOnly ?? new Float64Array(n * k),
      prob: new Float64Array(n * k),
      loss: new Float64Array(n),
      gz: new Float64Array(n * k),
      gProb: new Float64Array(n * k),
      gLoss: new Float64Array(n),
      rowWeight,
      rowCount,
    };
    return this.rowBuffers;
  }

  /** Logits z (n x k) for theta, computed into an internal buffer (valid until the next call). */
  async logits(theta: Float64Array): Promise<Float64Array> {
    const kd = this.outputs * this.cols;
    // only z: predictions need no other per-row buffer
    const z = this.rowBuffers?.z ?? (this.zOnly ??= new Float64Array(this.rows * this.outputs));
    await this.config.ops.forward(theta.subarray(0, kd), theta.subarray(kd), z);
    return z;
  }

  /** Fill probabilities and per-row cross-entropies from the current logits. */
  private rowsFromLogits(): void {
    const { y } = this.config;
    const n = this.rows;
    const k = this.outputs;
    const { z, prob, loss } = this.row;
    if (k === 1) {
      // one exp and one log1p per row: e = exp(-|z|), sigmoid and both softplus(+-z) follow from it
      for (let i = 0; i < n; i++) {
        const zi = z[i] as number;
        const e = Math.exp(zi >= 0 ? -zi : zi);
        const l = Math.log1p(e);
        prob[i] = zi >= 0 ? 1 / (1 + e) : e / (1 + e);
        const t = y[i] === 1 ? -zi : zi;
        loss[i] = (t > 0 ? t : 0) + l;
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let j = 0; j < k; j++) max = Math.max(max, z[i * k + j] as number);
      let sum = 0;
      for (let j = 0; j < k; j++) {
        const e = Math.exp((z[i * k + j] as number) - max);
        prob[i * k + j] = e;
        sum += e;
      }
      for (let j = 0; j < k; j++) prob[i * k + j] = (prob[i * k + j] as number) / sum;
      loss[i] = max + Math.log(sum) - (z[i * k + (y[i] as number)] as number);
    }
  }

  /** Per-row probabilities (binary: P(class 1); else K columns) and cross-entropies at theta. */
  async rowOutputs(theta: Float64Array): Promise<{ prob: Float64Array; loss: Float64Array }> {
    await this.logits(theta);
    this.rowsFromLogits();
    return { prob: this.row.prob, loss: this.row.loss };
  }

  /**
   * {@link evaluate} for a binary head in one pass over X ({@link LinearOps.binaryCellSums}): every term is a
   * function of per-(label, group) cell sums, and d objective / d z_i = a_c (p_i - y_i) + b_c p_i (1 - p_i) for
   * the rows i of cell c, with a_c = w_y / n + scale * dP/dCE_i and b_c = scale * dP/dp_i the same for every row
   * of the cell. So the gradient is sum_c a_c A_c + b_c B_c, from the cell sums A_c, B_c of the pass; or, in
   * halves, the forward half gives the cells' scalars (hence a_c, b_c) and the backward half sums each row once,
   * weighted by a_c (p_i - y_i) + b_c p_i (1 - p_i) (two reads of X, two thirds of the arithmetic).
   */
  private async evaluateByCells(cells: CellBuffers, theta: Float64Array, gradient?: Float64Array): Promise<ObjectiveValue> {
    const { penalty, alpha, l2, ops } = this.config;
    const d = this.cols;
    const { sums, input } = cells;
    const count = input.count;
    const cellCount = count.length;
    // in halves (binaryCellScalars, then binaryCellGradient with the cells' coefficients): sums holds each cell's
    // scalars alone; in one pass: each cell's A_c, B_c, then its scalars
    const { halves, stride, scalarsAt } = cells;
    const loss = await this.cellInputAt(cells, theta);
    const replaces = penalty?.replacesLoss ?? false;
    const scale = replaces ? 1 : alpha;
    const g = cells.gradient;
    g.prob.fill(0);
    g.loss.fill(0);
    const penaltyValue = penalty ? penalty.value(input, gradient && scale !== 0 ? g : undefined, scale) : 0;
    const cw = cells.cellWeights;
    if (cw && gradient) {
      // per counted row, as in evaluate's row path
      for (let c = 0; c < cellCount; c++) {
        g.prob[c] = (g.prob[c] as number) * (cw[c] as number);
        g.loss[c] = (g.loss[c] as number) * (cw[c] as number);
      }
    }
    const reg = dot(theta, theta, d);
    const objective = (replaces ? penaltyValue : loss + alpha * penaltyValue) + 0.5 * l2 * reg;
    if (!gradient) return { objective, loss, penalty: penaltyValue };
    // the L2 term l2 theta: here, or added to the backward half's sum below (the same float64 sum, commuted)
    if (!halves) scaledInto(gradient, l2, theta, d);
    let gb = 0;
    for (let c = 0; c < cellCount; c++) {
      const empty = (count[c] as number) === 0;
      const a = empty ? 0 : (replaces ? 0 : (cells.rowWeight[c] as number)) + (g.loss[c] as number);
      const bc = empty ? 0 : (g.prob[c] as number);
      const at = c * stride;
      if (halves) {
        halves.coefficients[2 * c] = a;
        halves.coefficients[2 * c + 1] = bc;
      } else if (!empty) {
        addCellTerms(gradient, a, bc, sums, at, d);
      }
      if (!empty) gb += a * (sums[at + scalarsAt + 3] as number) + bc * (sums[at + scalarsAt + 4] as number);
    }
    if (halves) {
      await ops.binaryCellGradient!(halves.coefficients, halves.gw);
      addScaled(halves.gw, l2, theta, gradient, d);
    }
    gradient[d] = gb;
    return { objective, loss, penalty: penaltyValue };
  }

  /**
   * The pass over X at theta for the cells (the forward half, or the one pass): fills `cells.input` with each
   * cell's row count, mean p and mean loss, and returns the (class-weighted) mean cross-entropy.
   */
  private async cellInputAt(cells: CellBuffers, theta: Float64Array): Promise<number> {
    const { ops } = this.config;
    const d = this.cols;
    const { sums, input, halves, stride, scalarsAt } = cells;
    const count = input.count;
    const [w, b] = [theta.subarray(0, d), theta.subarray(d, d + 1)];
    if (halves) await ops.binaryCellScalars!(w, b, cells.codes, this.config.groupCount, sums);
    else await ops.binaryCellSums!(w, b, cells.codes, this.config.groupCount, sums);
    let loss = 0;
    const cw = cells.cellWeights;
    for (let c = 0; c < count.length; c++) {
      const at = c * stride + scalarsAt;
      const m = sums[at] as number;
      count[c] = cw ? m * (cw[c] as number) : m;
      input.prob[c] = m > 0 ? (sums[at + 1] as number) / m : 0;
      input.loss[c] = m > 0 ? (sums[at + 2] as number) / m : 0;
      loss += (cells.rowWeight[c] as number) * (sums[at + 2] as number);
    }
    return loss;
  }

  /** True when evaluations run on per-(label, group) cell sums (a binary head over ops with cell sums). */
  get byCells(): boolean {
    return this.cells !== null;
  }

  /**
   * Value of `penalty` (default: the configured one) at theta, without its gradient: from the cells' sums of one
   * pass ({@link byCells}: no per-row work), else from the rows' logits.
   */
  async penaltyAt(theta: Float64Array, penalty: Penalty | null = this.config.penalty): Promise<number> {
    if (!penalty) return 0;
    if (this.cells) {
      await this.cellInputAt(this.cells, theta);
      return penalty.value(this.cells.input);
    }
    await this.logits(theta);
    return this.penaltyOfLogits(penalty);
  }

  /** {@link penaltyAt} at the theta of the last {@link logits} call, whose logits are reused (no pass over X). */
  penaltyOfLogits(penalty: Penalty | null = this.config.penalty): number {
    if (!penalty) return 0;
    this.rowsFromLogits();
    return penalty.value(this.penaltyInput());
  }

  private penaltyInput(): PenaltyInput {
    const count = this.row.rowCount;
    return {
      prob: this.row.prob,
      columns: this.outputs,
      loss: this.row.loss,
      y: this.config.y,
      group: this.config.group,
      classCount: this.config.classCount,
      groupCount: this.config.groupCount,
      ...(count ? { count } : {}),
    };
  }

  /**
   * The objective at theta; when `gradient` (length {@link size}) is given, writes d objective / d theta into it.
   */
  async evaluate(theta: Float64Array, gradient?: Float64Array): Promise<ObjectiveValue> {
    if (this.cells) return this.evaluateByCells(this.cells, theta, gradient);
    const { penalty, alpha, l2, y } = this.config;
    const n = this.rows;
    const k = this.outputs;
    const kd = k * this.cols;
    const { prob, gz, gProb, gLoss, rowWeight } = this.row;
    const rowLoss = this.row.loss;
    await this.logits(theta);
    this.rowsFromLogits();
    let loss = 0;
    for (let i = 0; i < n; i++) loss += (rowWeight[i] as number) * (rowLoss[i] as number);
    const replaces = penalty?.replacesLoss ?? false;
    const scale = replaces ? 1 : alpha;
    let penaltyValue = 0;
    if (gradient) {
      gProb.fill(0);
      gLoss.fill(0);
    }
    if (penalty) {
      penaltyValue = penalty.value(this.penaltyInput(), gradient && scale !== 0 ? { prob: gProb, loss: gLoss } : undefined, scale);
      // the penalty's gradient is per counted row: a row counted v times moves the penalty v times as much
      const count = this.row.rowCount;
      if (gradient && count) {
        for (let i = 0; i < n; i++) {
          const v = count[i] as number;
          gLoss[i] = (gLoss[i] as number) * v;
          for (let j = 0; j < k; j++) gProb[i * k + j] = (gProb[i * k + j] as number) * v;
        }
      }
    }
    const reg = dot(theta, theta, kd);
    const objective = (replaces ? penaltyValue : loss + alpha * penaltyValue) + 0.5 * l2 * reg;
    if (!gradient) return { objective, loss, penalty: penaltyValue };

    // d objective / d z, row by row
    if (k === 1) {
      for (let i = 0; i < n; i++) {
        const p = prob[i] as number;
        const cLoss = (replaces ? 0 : (rowWeight[i] as number)) + (gLoss[i] as number);
        gz[i] = cLoss * (p - (y[i] as number)) + (gProb[i] as number) * p * (1 - p);
      }
    } else {
      for (let i = 0; i < n; i++) {
        const cLoss = (replaces ? 0 : (rowWeight[i] as number)) + (gLoss[i] as number);
        let dot = 0;
        for (let c = 0; c < k; c++) dot += (gProb[i * k + c] as number) * (prob[i * k + c] as number);
        const yi = y[i] as number;
        for (let j = 0; j < k; j++) {
          const pj = prob[i * k + j] as number;
          gz[i * k + j] = cLoss * (pj - (j === yi ? 1 : 0)) + pj * ((gProb[i * k + j] as number) - dot);
        }
      }
    }
    await this.config.ops.backward(gz, gradient.subarray(0, kd), gradient.subarray(kd));
    for (let j = 0; j < kd; j++) gradient[j] = (gradient[j] as number) + l2 * (theta[j] as number);
    return { objective, loss, penalty: penaltyValue };
  }
}

interface RowBuffers {
  readonly z: Float64Array;
  readonly prob: Float64Array;
  readonly loss: Float64Array;
  readonly gz: Float64Array;
  readonly gProb: Float64Array;
  readonly gLoss: Float64Array;
  /** w_{y_i} v_{c_i} / n */
  readonly rowWeight: Float64Array;
  /** With cell weights: v_{c_i}, how many rows row i counts as in the penalty; else null. */
  readonly rowCount: Float64Array | null;
}

interface CellBuffers {
  readonly codes: Int32Array;
  /** One pass: per cell A_c (d), B_c (d), then its scalars; halves: per cell its scalars alone. */
  readonly sums: Float64Array;
  /** Values per cell in `sums`, and where a cell's scalars start in its block. */
  readonly stride: number;
  readonly scalarsAt: number;
  /** The two-half pass's cell coefficients (a_c, b_c per cell) and gradient sum (d), when the ops offer it. */
  readonly halves: { readonly coefficients: Float64Array; readonly gw: Float64Array } | null;
  /** The penalty's input: one entry per (label, group) cell, holding the cell's mean p and loss and its row count. */
  readonly input: PenaltyInput & { readonly count: Float64Array };
  readonly gradient: { readonly prob: Float64Array; readonly loss: Float64Array };
  /** Cross-entropy weight of one row of each cell: w_y v_c / n. */
  readonly rowWeight: Float64Array;
  /** The cell weights v_c (rows counted v_c times in the penalty: `input.count` holds v_c x rows), or null. */
  readonly cellWeights: Float64Array | null;
}

function cellBuffers(config: ObjectiveConfig, d: number): CellBuffers {
  const G = config.groupCount;
  const cells = 2 * G;
  const n = config.y.length;
  const codes = config.codes?.length === n ? config.codes : rowCodes(config.y, config.group, G);
  const y = new Int32Array(cells);
  const group = new Int32Array(cells);
  const rowWeight = new Float64Array(cells);
  for (let c = 0; c < cells; c++) {
    y[c] = c >= G ? 1 : 0;
    group[c] = c % G;
    rowWeight[c] = ((config.classWeights ? (config.classWeights[y[c] as number] as number) : 1) * (config.cellWeights ? (config.cellWeights[c] as number) : 1)) / n;
  }
  const halves = config.ops.binaryCellScalars && config.ops.binaryCellGradient ? { coefficients: new Float64Array(2 * cells), gw: new Float64Array(d) } : null;
  const stride = halves ? CELL_SCALARS : cellStride(d);
  return {
    codes,
    sums: new Float64Array(cells * stride),
    stride,
    scalarsAt: halves ? 0 : 2 * d,
    halves,
    input: { prob: new Float64Array(cells), columns: 1, loss: new Float64Array(cells), y, group, classCount: 2, groupCount: G, count: new Float64Array(cells) },
    gradient: { prob: new Float64Array(cells), loss: new Float64Array(cells) },
    rowWeight,
    cellWeights: config.cellWeights ?? null,
  };
}

// evaluateByCells' loops over d are small functions of their own: V8 optimises each once, early, instead of
// compiling the whole evaluation on the stack (and again after) in the first fits of a process.

/** codes[i] = y[i] * G + group[i]. */
function rowCodes(y: Int32Array, group: Int32Array, G: number): Int32Array {
  const codes = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) codes[i] = (y[i] as number) * G + (group[i] as number);
  return codes;
}

/** out[j] = a v[j] for j < d. */
function scaledInto(out: Float64Array, a: number, v: Float64Array, d: number): void {
  for (let j = 0; j < d; j++) out[j] = a * (v[j] as number);
}

/** out[j] += a A[j] + b B[j] for j < d, with A at sums[at ...] and B at sums[at + d ...] (a cell's two sums). */
function addCellTerms(out: Float64Array, a: number, b: number, sums: Float64Array, at: number, d: number): void {
  for (let j = 0; j < d; j++) out[j] = (out[j] as number) + a * (sums[at + j] as number) + b * (sums[at + d + j] as number);
}

/** log(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

