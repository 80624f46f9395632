/**
 * The protocol of `fairhead reproduce`: which experiments exist, which data, splits and backbone each uses, and
 * which grid of (method, constraint, alpha, seed) settings is trained. Everything here is plain data, so the
 * committed results/README.md can quote it and a test can check it.
 *
 * Splits (fixed, seeded with split seed 0; the training seeds 0..n-1 only change the fine-tuning sample, the
 * head's training and, for `full`, the network's initialisation):
 * - adult: train / validation = a stratified 80 / 20 split of adult.data (by (label, sex) cell); test = adult.test.
 * - utkface-*: a stratified 60 / 20 / 20 train / validation / test split of the 9,778 labelled images, by
 *   (label, group) cell.
 * - utkface-gender-race-cnn: the task of utkface-gender-race, but the backbone is the small ResNet of
 *   `--backbone cnn`, pre-trained here from scratch with ERM on the training split at {@link CNN_IMAGE_SIZE} px
 *   ({@link CNN_EPOCHS} epochs), so that the whole network can also be trained with the penalty (`full`).
 */
import { InputError } from '../../errors.ts';
import type { Constraint, Method } from '../run-options.ts';

/** The experiments of the paper's protocol that fairhead reproduces on real data. */
export const EXPERIMENTS = ['adult', 'utkface-gender-race', 'utkface-age-gender', 'utkface-gender-race-cnn'] as const;
/** One of {@link EXPERIMENTS}. */
export type ExperimentName = (typeof EXPERIMENTS)[number];

/** The constraints of the reproduction (the paper's: equalized odds, demographic parity, disparate impact, accuracy equality, max-min fairness). */
export const REPRODUCE_CONSTRAINTS: readonly Constraint[] = ['eo', 'dp', 'di', 'ae', 'mmf'];

/** The paper's penalty weights. */
export const PAPER_ALPHAS: readonly number[] = [2, 5];

/** One head setting of the grid (seeds are added by {@link settingsGrid}). */
export interface HeadSetting {
  readonly method: Method;
  readonly constraint: Constraint;
  readonly alpha: number;
}

/** One whole-network (`full`) setting: the MLP or CNN trained end to end with cross-entropy + alpha * penalty. */
export interface FullSetting {
  readonly constraint: Constraint;
  readonly alpha: number;
}

/** The grid one experiment runs. */
export interface ReproduceGrid {
  /** Seeds 0 .. seeds-1. */
  readonly seeds: number;
  /** Head settings, each run once per seed. B* methods have no penalty: constraint is ignored (recorded "none"). */
  readonly heads: readonly HeadSetting[];
  /** Whole-network settings (Adult's MLP and the cnn backbone; none on face-api), each run once per seed. */
  readonly full: readonly FullSetting[];
  /** Epochs of the whole-network training (and of the ERM pre-training, MLP or CNN). */
  readonly epochs: number;
  /** Run the group-threshold post-processing baseline once per seed. */
  readonly threshold: boolean;
}

/**
 * Whole-network settings (each trains the MLP from scratch: ~5-10 s, so fewer than the heads): eo over
 * {0.5, 1, 2, 5}, dp at the paper's 2 and 5, di and ae at 5, mmf.
 */
export const FULL_SETTINGS: readonly FullSetting[] = [
  { constraint: 'eo', alpha: 0.5 },
  { constraint: 'eo', alpha: 1 },
  { constraint: 'eo', alpha: 2 },
  { constraint: 'eo', alpha: 5 },
  { constraint: 'dp', alpha: 2 },
  { constraint: 'dp', alpha: 5 },
  { constraint: 'di', alpha: 5 },
  { constraint: 'ae', alpha: 5 },
  { constraint: 'mmf', alpha: 1 },
];

/**
 * utkface-gender-race-cnn: image side of the CNN, epochs of every CNN training (the ERM pre-training and each `full`
 * run; lr 0.05, divided by 10 after epochs 4 and 8), and seeds. Measured on this project's 2-core machine (shared):
 * one 10-epoch training on the 5,866 training faces at 32 px takes about 105-145 s wall; 2 seeds (5 CNN trainings
 * and the head grid) took 587 s, so 3 seeds (7 trainings) fit in about 15 minutes. 64 px costs 2-4x more per epoch.
 */
export const CNN_IMAGE_SIZE = 32;
export const CNN_EPOCHS = 10;
export const CNN_SEEDS = 3;

/** utkface-gender-race-cnn: whole-network settings, EO at alpha 1 and at the headline's 5 (each a CNN trained from scratch). */
export const CNN_FULL_SETTINGS: readonly FullSetting[] = [
  { constraint: 'eo', alpha: 1 },
  { constraint: 'eo', alpha: 5 },
];

/** The alphas of the sweep (M1 and M2 with EO and DP), besides the paper's 2 and 5. */
export const SWEEP_ALPHAS: readonly number[] = [0.5, 1, 2, 5, 10, 20];

/**
 * The settings trained for one experiment. Full mode: B1, B2, B3; M1 and M2 x {eo, dp, di, ae} x alpha {2, 5};
 * M1 and M2 x mmf once (mmf replaces the loss, alpha is ignored); the sweep M1, M2 x {eo, dp} x {0.5, 1, 10, 20};
 * `full` ({@link FULL_SETTINGS}) on tabular data, {@link CNN_FULL_SETTINGS} with the cnn backbone (whose seeds
 * default to {@link CNN_SEEDS} and epochs to {@link CNN_EPOCHS}); none on face-api (it cannot be trained). Quick mode
 * (`--quick`, a smoke test): 1 seed, B1, M1 and M2 x eo x alpha 5, M2 x dp x alpha 5, full x eo x alpha 5 with 8
 * epochs (cnn: 2).
 *
 * @example
 * settingsGrid('adult', { quick: true }).heads.length; // 4
 */
export function settingsGrid(experiment: ExperimentName, options: { quick?: boolean; seeds?: number } = {}): ReproduceGrid {
  checkExperiment(experiment);
  const tabular = experiment === 'adult';
  const cnn = experiment === 'utkface-gender-race-cnn';
  if (options.quick === true) {
    return {
      seeds: options.seeds ?? 1,
      heads: [
        { method: 'b1', constraint: 'eo', alpha: 0 },
        { method: 'm1', constraint: 'eo', alpha: 5 },
        { method: 'm2', constraint: 'eo', alpha: 5 },
        { method: 'm2', constraint: 'dp', alpha: 5 },
      ],
      full: tabular || cnn ? [{ constraint: 'eo', alpha: 5 }] : [],
      epochs: cnn ? 2 : 8,
      threshold: true,
    };
  }
  const heads: HeadSetting[] = [
    { method: 'b1', constraint: 'eo', alpha: 0 },
    { method: 'b2', constraint: 'eo', alpha: 0 },
    { method: 'b3', constraint: 'eo', alpha: 0 },
  ];
  for (const method of ['m1', 'm2'] as const) {
    for (const constraint of REPRODUCE_CONSTRAINTS) {
      if (constraint === 'mmf') {
        heads.push({ method, constraint, alpha: 1 });
        continue;
      }
      const alphas = constraint === 'eo' || constraint === 'dp' ? SWEEP_ALPHAS : PAPER_ALPHAS;
      for (const alpha of alphas) heads.push({ method, constraint, alpha });
    }
  }
  if (cnn) return { seeds: options.seeds ?? CNN_SEEDS, heads, full: [...CNN_FULL_SETTINGS], epochs: CNN_EPOCHS, threshold: true };
  const full: FullSetting[] = tabular ? [...FULL_SETTINGS] : [];
  return { seeds: options.seeds ?? 5, heads, full, epochs: 50, threshold: true };
}

/**
 * Parse `--experiment`: one name or `all` (every experiment, in {@link EXPERIMENTS} order).
 *
 * @example
 * parseExperiments('all'); // ['adult', 'utkface-gender-race', 'utkface-age-gender', 'utkface-gender-race-cnn']
 * parseExperiments('celeba'); // InputError: Unknown experiment "celeba". Valid: adult, utkface-gender-race, utkface-age-gender, utkface-gender-race-cnn, all
 */
export function parseExperiments(value: string): ExperimentName[] {
  if (value === 'all') return [...EXPERIMENTS];
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new InputError(`--experiment: expected one of ${EXPERIMENTS.join(', ')}, all`);
  return names.map((n) => {
    checkExperiment(n);
    return n as ExperimentName;
  });
}

function checkExperiment(name: string): void {
  if (!(EXPERIMENTS as readonly string[]).includes(name)) {
    throw new InputError(`Unknown experiment "${name}". Valid: ${EXPERIMENTS.join(', ')}, all`);
  }
}
