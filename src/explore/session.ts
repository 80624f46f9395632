/**
 * The engine behind `fairhead explore`: one set of prepared embeddings, heads fitted on demand (each at most once,
 * kept in a cache), a background sweep of the strength for the trade-off curve, and the views of a state. The HTTP
 * server (server.ts) is a thin shell over it, so tests and benchmarks can drive it without a browser too.
 */
import { performance } from 'node:perf_hooks';
import type { EmbeddingSet } from '../data/dataset.ts';
import { InputError } from '../errors.ts';
import type { LinearHead } from '../head/linear-head.ts';
import { finetuneAndEvaluate, notConvergedWarning, shippedHead, shippedMismatchWarning, shippedOutcome, type FinetuneOutcome } from '../pipeline/finetune.ts';
import { methodUsesPenalty } from '../pipeline/finetune-sets.ts';
import { regroup, type Regrouped } from '../pipeline/grouping.ts';
import { checkOutputFolder } from '../pipeline/output-folder.ts';
import type { PreparedData } from '../pipeline/prepare.ts';
import { runCommand, type OptionsRecord } from '../pipeline/run-command.ts';
import { runContext, writeRunOutputs } from '../pipeline/run.ts';
import type { HeadOptions } from '../pipeline/run-options.ts';
import type { MetricsFile, RunRecord } from '../report/schema.ts';
import { thinCellWarning } from '../pipeline/thin-cells.ts';
import { createStreamingOps } from '../train/streaming-ops.ts';
import { FitPath } from '../train/fit.ts';
import { FitQueue, SupersededError } from './fit-queue.ts';
import {
  ALPHA_STEPS,
  baselineState,
  fitKey,
  groupingKey,
  groupingOf,
  headOptions,
  initialState,
  nearestIndex,
  parseState,
  type ExploreState,
} from './state.ts';
import { renderCurve, renderViews, type CurvePoint, type ViewFragments } from './views.ts';

/** What an explore session is made from. */
export interface ExploreSessionOptions {
  /** The data, embedded once, with every sensitive column crossed and nothing folded (the page regroups it). */
  readonly prepared: PreparedData;
  readonly task: { readonly target: string; readonly positive?: string; readonly sensitive: readonly string[] };
  /** The data and backbone options (no head options, no grouping), paths absolute: the base of the run command. */
  readonly record: OptionsRecord;
  /** Where "save" writes (as `fairhead run --out`). */
  readonly out: string;
  /** The head the page opens on (defaults: m2, eo, alpha 1, seed 0). */
  readonly head?: Partial<HeadOptions>;
  /** The grouping the page opens on (default: every sensitive column, nothing folded). */
  readonly grouping?: { readonly groupBy?: readonly string[]; readonly minGroupSize?: number };
  /** Fit the strength sweep of the trade-off curve in the background (default true). */
  readonly sweep?: boolean;
}

/** A fitted head with what the views need. */
export interface FitEntry {
  readonly head: LinearHead;
  readonly record: RunRecord;
  /** Predicted class (0/1) of every test row. */
  readonly testPredictions: Uint8Array;
}

/** The data of one grouping (a subset of the sensitive columns, small groups folded or not). */
interface Grouping {
  readonly key: string;
  readonly regrouped: Regrouped;
  /** Rows per group in train + validation. */
  readonly rows: readonly number[];
  readonly shipped?: FitEntry;
}

/** What {@link ExploreSession.view} returns: the page's HTML fragments and the numbers behind them. */
export interface ViewResult {
  /** The fit this view shows ({@link fitKey}). */
  readonly key: string;
  readonly state: ExploreState;
  readonly fragments: ViewFragments;
  /** The `fairhead run` command that fits this head again. */
  readonly command: string;
  readonly record: RunRecord;
  readonly baseline: RunRecord;
  /** Points of the trade-off curve fitted so far, and how many the sweep will have. */
  readonly curve: { readonly done: number; readonly total: number };
  /** Milliseconds the server spent on this view (fits included). */
  readonly serverMs: number;
  /** True when the head came from the cache (no fit for this request). */
  readonly cached: boolean;
}

/** What {@link ExploreSession.save} wrote. */
export interface SaveResult {
  readonly out: string;
  readonly files: readonly string[];
  readonly command: string;
}

/** Heads kept at most (about 20 KB each: the head, its four split summaries, the test predictions). */
const CACHE_LIMIT = 1000;

/** Bootstrap resamples of a saved report: `fairhead run`'s default, so the files are those it writes. */
const SAVE_BOOTSTRAP = 200;

/** One explore session over prepared data. */
export class ExploreSession {
  readonly prepared: PreparedData;
  readonly task: ExploreSessionOptions['task'];
  readonly record: OptionsRecord;
  readonly out: string;
  readonly initial: ExploreState;
  /** True when the backbone has a head of its own for this task (the `shipped` baseline). */
  readonly hasShipped: boolean;
  private readonly sweep: boolean;
  private readonly queue = new FitQueue();
  private readonly cache = new Map<string, FitEntry>();
  /** Per setting but the strength: the heads of the continuation's strengths (FitOptions.path), fitted once. */
  private readonly paths = new Map<string, FitPath>();
  private readonly groupings = new Map<string, Grouping>();
  private saving: Promise<SaveResult> | null = null;

  constructor(options: ExploreSessionOptions) {
    this.prepared = options.prepared;
    this.task = options.task;
    this.record = options.record;
    this.out = options.out;
    this.sweep = options.sweep ?? true;
    this.hasShipped = shippedHead(options.prepared)?.head !== undefined;
    for (const column of options.grouping?.groupBy ?? []) {
      if (!this.task.sensitive.includes(column)) throw new InputError(`--group-by "${column}" is not one of the --sensitive columns. Valid: ${this.task.sensitive.join(', ')}`);
    }
    this.initial = parseState(initialState(options.head ?? {}, this.task.sensitive, this.hasShipped, options.grouping), this.task.sensitive, this.hasShipped);
    checkOutputFolder(this.out);
  }

  /** Check a state sent by the page (InputError: the server answers 400). */
  parse(value: unknown): ExploreState {
    return parseState(value, this.task.sensitive, this.hasShipped);
  }

  /** The warnings of the data as prepared (skipped images, numeric groups, a shipped head for other classes). */
  dataWarnings(): string[] {
    const mismatch = shippedMismatchWarning(this.prepared);
    return [...this.prepared.warnings, ...(mismatch ? [mismatch] : [])];
  }

  /**
   * The view of a state: fits its head and the baseline when they are not cached (through the queue: a newer
   * request makes this one reject with SupersededError), then renders every fragment. Queues the strength sweep
   * of the state's setting in the background.
   */
  async view(state: ExploreState): Promise<ViewResult> {
    const started = performance.now();
    const grouping = this.grouping(state);
    const key = fitKey(state, this.task.sensitive);
    const b1State = baselineState(state);
    const baselineKey = fitKey(b1State, this.task.sensitive);
    const hit = this.cached(key);
    const cached = hit !== undefined;
    const current = hit ?? (await this.fitInteractive(grouping, state, key));
    const b1 = state.baseline === 'b1' ? (this.cached(baselineKey) ?? (await this.fitInteractive(grouping, b1State, baselineKey))) : undefined;
    const baseline = state.baseline === 'shipped' ? grouping.shipped : b1;
    if (!baseline) throw new InputError(`state.baseline: no ${state.baseline} head for this data`);
    this.queueSweep(state, grouping);
    const curve = this.curvePoints(state);
    const fragments = renderViews({
      state,
      prepared: grouping.regrouped.prepared,
      rows: grouping.rows,
      current,
      baseline,
      baselineName: state.baseline,
      curve: curve.points,
      warnings: this.warnings(state, grouping, current),
    });
    return {
      key,
      state,
      fragments,
      command: this.command(state),
      record: current.record,
      baseline: baseline.record,
      curve: { done: curve.done, total: curve.total },
      serverMs: performance.now() - started,
      cached,
    };
  }

  /** The trade-off curve of a state from the heads fitted so far (no fitting): its fragment and the sweep's progress. */
  curve(state: ExploreState): { readonly html: string; readonly done: number; readonly total: number } {
    const grouping = this.grouping(state);
    const baseline = state.baseline === 'shipped' ? grouping.shipped : this.cached(fitKey(baselineState(state), this.task.sensitive));
    const curve = this.curvePoints(state);
    const html = baseline ? renderCurve({ state, baseline, baselineName: state.baseline, curve: curve.points }) : '';
    return { html, done: curve.done, total: curve.total };
  }

  /**
   * Save the head of a state as `fairhead run` would: fit it again with the same options (the same head: fits are
   * deterministic) and 200 bootstrap resamples on test, then write the model folder, metrics.json, report.html and
   * report.md to the output folder (atomically; see writeRunOutputs). One save at a time; never superseded.
   */
  save(state: ExploreState): Promise<SaveResult> {
    const previous = this.saving ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() =>
      this.queue.runExclusive(`save ${fitKey(state, this.task.sensitive)}`, async () => {
        const grouping = this.grouping(state);
        const prepared = grouping.regrouped.prepared;
        const options = headOptions(state);
        const runs: RunRecord[] = [];
        const shipped = shippedOutcome(prepared, SAVE_BOOTSTRAP);
        if (shipped) runs.push(shipped.record);
        const outcome = await finetuneAndEvaluate(prepared, options, { bootstrap: SAVE_BOOTSTRAP });
        runs.push(outcome.record);
        const record = this.stateRecord(state);
        const metrics: MetricsFile = { format: 'fairhead.metrics', version: 1, context: runContext(this.task, prepared, record), runs };
        const files = await writeRunOutputs(this.out, prepared, this.task, metrics, outcome.head);
        return { out: this.out, files, command: this.command(state) };
      }),
    );
    this.saving = next;
    return next;
  }

  /**
   * Fit the head a page opens on (and its baseline) in the background, before the page asks: the server calls it
   * once it listens, so the first view shares a fit already under way while the person opens the address.
   */
  prefetch(state: ExploreState = this.initial): void {
    const grouping = this.grouping(state);
    const heads: ExploreState[] = [state, ...(state.baseline === 'b1' ? [baselineState(state)] : [])];
    for (const head of heads) this.fitInBackground(grouping, head, fitKey(head, this.task.sensitive));
  }

  /** Wait for a save in progress, stop the queue (aborting fits), and drop the cache. */
  async close(): Promise<void> {
    await this.saving?.catch(() => undefined);
    await this.queue.close();
    this.cache.clear();
  }

  /** Background fits still queued or running. */
  get backgroundPending(): number {
    return this.queue.backgroundPending;
  }

  /** The options record of a state: the data options with its grouping and head options (for metrics.json and the command). */
  stateRecord(state: ExploreState): OptionsRecord {
    const h = headOptions(state);
    const penalised = methodUsesPenalty(h.method);
    const g = groupingOf(state, this.task.sensitive);
    return {
      ...this.record,
      ...(g.groupBy !== undefined ? { groupBy: [...g.groupBy] } : {}),
      ...(g.minGroupSize !== undefined ? { minGroupSize: g.minGroupSize } : {}),
      method: h.method,
      ...(penalised ? { constraint: h.constraint } : {}),
      ...(penalised && h.maxGap === undefined ? { alpha: h.alpha } : {}),
      ...(h.maxGap !== undefined ? { maxGap: h.maxGap } : {}),
      seed: h.seed,
    };
  }

  /** The `fairhead run` command that fits the head of `state` again and writes what save writes. */
  command(state: ExploreState): string {
    return runCommand(this.stateRecord(state), this.out);
  }

  private cached(key: string): FitEntry | undefined {
    const entry = this.cache.get(key);
    if (entry) {
      // most recently used last
      this.cache.delete(key);
      this.cache.set(key, entry);
    }
    return entry;
  }

  private store(key: string, entry: FitEntry): void {
    this.cache.set(key, entry);
    while (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
  }

  /** Fit a head through the queue as the newest request (a background fit of the same head is waited for instead). */
  private fitInteractive(grouping: Grouping, state: ExploreState, key: string): Promise<FitEntry> {
    return this.queue.interactive(key, async (signal) => this.cached(key) ?? (await this.fit(grouping, state, key, signal)));
  }

  /** Queue a background fit of a head, skipped if it is cached by the time its turn comes. */
  private fitInBackground(grouping: Grouping, state: ExploreState, key: string): void {
    this.queue.addBackground(key, async (signal) => {
      if (!this.cache.has(key)) await this.fit(grouping, state, key, signal);
    });
  }

  private async fit(grouping: Grouping, state: ExploreState, key: string, signal: AbortSignal): Promise<FitEntry> {
    const prepared = grouping.regrouped.prepared;
    const pathKey = fitKey({ ...state, mode: 'alpha', alpha: 1 }, this.task.sensitive);
    let path = this.paths.get(pathKey);
    if (!path) {
      path = new FitPath();
      this.paths.set(pathKey, path);
    }
    const outcome: FinetuneOutcome = await finetuneAndEvaluate(prepared, headOptions(state), { signal, path });
    const entry: FitEntry = { head: outcome.head, record: outcome.record, testPredictions: await predictions(outcome.head, prepared) };
    this.store(key, entry);
    return entry;
  }

  private grouping(state: ExploreState): Grouping {
    const key = groupingKey(state, this.task.sensitive);
    const known = this.groupings.get(key);
    if (known) return known;
    const regrouped = regroup(this.prepared, this.task.sensitive, groupingOf(state, this.task.sensitive));
    const p = regrouped.prepared;
    const rows = new Array<number>(p.train.groupNames.length).fill(0);
    for (const set of [p.train, p.validation]) for (const g of set.group) rows[g]! += 1;
    const shipped = shippedOutcome(p);
    const grouping: Grouping = {
      key,
      regrouped,
      rows,
      ...(shipped ? { shipped: { head: shipped.head, record: shipped.record, testPredictions: predictionsInMemory(shipped.head, p.test) } } : {}),
    };
    this.groupings.set(key, grouping);
    return grouping;
  }

  /**
   * Queue the fits of the curve of this state's setting, the strengths beside the slider first (where a drag goes
   * next), then the range coarse to fine; the queued fits of the setting before are dropped (a running one ends).
   */
  private queueSweep(state: ExploreState, grouping: Grouping): void {
    this.queue.dropBackground(() => false);
    if (!this.sweep || !methodUsesPenalty(state.method)) return;
    for (const i of sweepOrder(ALPHA_STEPS.length, nearestIndex(ALPHA_STEPS, state.mode === 'alpha' ? state.alpha : this.cached(fitKey(state, this.task.sensitive))?.record.alpha ?? 1))) {
      const point: ExploreState = { ...state, mode: 'alpha', alpha: ALPHA_STEPS[i] as number };
      const key = fitKey(point, this.task.sensitive);
      if (this.cache.has(key)) continue;
      this.fitInBackground(grouping, point, key);
    }
  }

  /** The cached heads of the state's setting at the slider's strengths (plus the current head), as curve points. */
  private curvePoints(state: ExploreState): { points: CurvePoint[]; done: number; total: number } {
    const points: CurvePoint[] = [];
    if (!methodUsesPenalty(state.method)) {
      const entry = this.cache.get(fitKey(state, this.task.sensitive));
      return { points: entry ? [{ alpha: 0, record: entry.record, current: true, extra: true }] : [], done: entry ? 1 : 0, total: 1 };
    }
    const currentKey = fitKey(state, this.task.sensitive);
    let done = 0;
    let currentSeen = false;
    for (const alpha of ALPHA_STEPS) {
      const key = fitKey({ ...state, mode: 'alpha', alpha }, this.task.sensitive);
      const entry = this.cache.get(key);
      if (!entry) continue;
      done++;
      const current = key === currentKey;
      currentSeen ||= current;
      points.push({ alpha, record: entry.record, current });
    }
    const entry = this.cache.get(currentKey);
    if (!currentSeen && entry) points.push({ alpha: entry.record.alpha, record: entry.record, current: true, extra: true, ...(state.mode === 'target' ? { target: state.maxGap } : {}) });
    return { points, done, total: this.sweep ? ALPHA_STEPS.length : done };
  }

  private warnings(state: ExploreState, grouping: Grouping, current: FitEntry): string[] {
    const p = grouping.regrouped.prepared;
    const out = [...this.dataWarnings(), ...grouping.regrouped.warnings];
    if (state.smallGroups === 'flag' && state.minGroupSize > 0) {
      const small = p.train.groupNames.flatMap((name, g) => ((grouping.rows[g] as number) < state.minGroupSize ? [`"${name}" (${grouping.rows[g]})`] : []));
      if (small.length > 0) out.push(`${small.length} group${small.length === 1 ? ' has' : 's have'} fewer than ${state.minGroupSize} rows in train + validation (flagged ⚑ in the tables): ${small.join(', ')}`);
    }
    const thin = thinCellWarning(p.train, p.validation, state.method, state.constraint, p.dataset);
    if (thin) out.push(thin);
    const notConverged = notConvergedWarning(current.record);
    if (notConverged) out.push(notConverged);
    const gap = current.record.maxGap;
    if (gap !== undefined && current.record.cost.converged === false) {
      out.push(`no head reached a gap of at most ${gap} on the fine-tuning set: this is the head with the smallest gap found (alpha ${current.record.alpha})`);
    }
    return out;
  }
}

/**
 * Positions 0 .. n-1 in the order a sweep fits them: the two on each side of `around` (where a drag of the slider
 * goes next), then every 10th, every 5th and the rest, so the curve covers its whole range early and fills in.
 *
 * @example
 * sweepOrder(12, 6); // [5, 7, 4, 8, 0, 10, 1, 2, 3, 6, 9, 11]
 */
export function sweepOrder(n: number, around: number): number[] {
  const order: number[] = [];
  const add = (i: number): void => {
    if (i >= 0 && i < n && !order.includes(i)) order.push(i);
  };
  for (const d of [1, 2]) {
    add(around - d);
    add(around + d);
  }
  for (const step of [10, 5, 1]) for (let i = 0; i < n; i += step) add(i);
  return order;
}

/** Predicted class (score >= 0.5, as evaluateHead decides) of every row of an in-memory set. */
function predictionsInMemory(head: LinearHead, set: EmbeddingSet): Uint8Array {
  const scores = head.positiveScore(set.x);
  return Uint8Array.from(scores, (s) => (s >= 0.5 ? 1 : 0));
}

/** The test predictions of a head, streaming the rows when the embeddings stay on disk. */
async function predictions(head: LinearHead, prepared: PreparedData): Promise<Uint8Array> {
  if (!prepared.onDisk) return predictionsInMemory(head, prepared.test);
  const set = prepared.onDisk.test;
  const z = new Float64Array(set.x.rows);
  const ops = await createStreamingOps(set.x, 1);
  try {
    await ops.forward(head.weights, head.bias, z);
  } finally {
    await ops.close();
  }
  // the sigmoid as evaluateHeadOnDisk computes it, so the same rows reach 0.5
  return Uint8Array.from(z, (v) => ((v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))) >= 0.5 ? 1 : 0));
}

export { SupersededError };
