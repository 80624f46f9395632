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
 * - adult-overfit-mlp, utkface-overfit-cnn: the over-fitting regime of the paper's argument. The tasks of adult and
 *   utkface-gender-race, but the ERM network is over-parameterised and trained without early stopping (and, for the
 *   CNN, without augmentation) until it fits its training split ({@link OVERFIT_MLP}, {@link OVERFIT_CNN}); then,
 *   from the same ERM weights, the whole network is trained further with cross-entropy + alpha x EO on the
 *   training split (`full`), and the last layer is re-trained by B1, M1, M2, M2w and M2p at the same alphas.
 */
import { InputError } from '../../errors.ts';
import type { CnnOptions } from '../../backbone/cnn.ts';
import type { MlpOptions } from '../../backbone/mlp.ts';
import type { Constraint, Method } from '../run-options.ts';

/** The experiments of the paper's protocol that fairhead reproduces on real data. */
export const EXPERIMENTS = ['adult', 'utkface-gender-race', 'utkface-age-gender', 'utkface-gender-race-cnn', 'adult-overfit-mlp', 'utkface-overfit-cnn'] as const;
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

/**
 * An over-fitting experiment's networks: the ERM pre-training (trained to its last epoch, no early stopping) and the
 * whole-network fair training that continues from its weights on the training split.
 */
export interface OverfitProtocol {
  /** The ERM network: epochs and training options (`hidden` for the MLP, `channels` and image size for the CNN). */
  readonly erm: {
    readonly epochs: number;
    readonly hidden?: readonly number[];
    readonly imageSize?: number;
    readonly mlp?: Partial<Omit<MlpOptions, 'hidden' | 'epochs' | 'seed'>>;
    readonly cnn?: Partial<Omit<CnnOptions, 'epochs' | 'seed'>>;
  };
  /** The whole-network runs from the ERM weights: epochs and training options. */
  readonly full: { readonly epochs: number; readonly mlp?: Partial<Omit<MlpOptions, 'hidden' | 'epochs' | 'seed'>>; readonly cnn?: Partial<Omit<CnnOptions, 'epochs' | 'seed'>> };
}

/** The grid one experiment runs. */
export interface ReproduceGrid {
  /** Seeds 0 .. seeds-1. */
  readonly seeds: number;
  /** Head settings, each run once per seed. B* methods have no penalty: constraint is ignored (recorded "none"). */
  readonly heads: readonly HeadSetting[];
  /** Whole-network settings (the MLP and the cnn backbone; none on face-api), each run once per seed below `fullSeeds`. */
  readonly full: readonly FullSetting[];
  /** Seeds of the whole-network runs, 0 .. fullSeeds-1 (at most `seeds`): each trains a network, unlike a head. */
  readonly fullSeeds: number;
  /** Epochs of the whole-network training (and of the ERM pre-training, MLP or CNN). */
  readonly epochs: number;
  /** Run the group-threshold post-processing baseline once per seed. */
  readonly threshold: boolean;
  /** Over-fitting experiments: the ERM network and the whole-network runs from its weights (they override `epochs`). */
  readonly overfit?: OverfitProtocol;
}

/**
 * adult-overfit-mlp: the ERM network, an MLP of two hidden layers of 512 units (about 316,000 weights for 26,049
 * training rows), AdamW without weight decay, batches of 128, lr 1e-3 for 80 epochs then 1e-4, 100 epochs, the
 * last one kept (no early stopping), on onnxruntime (12x less CPU time an epoch than the own float64 kernels:
 * bench/results/backbones-mlp-wide.json).
 * Measured on the shared 2-core machine (scratch runs, training accuracy over the epoch's batches): at a constant
 * lr 1e-3 it rose to 0.916 at epoch 20, 0.953 at 50, 0.966 at 80 and 0.973 at 120, still creeping up (0.975 on the
 * whole training split, test 0.817); with the step after epoch 40 it went 0.945 -> 0.957 in one epoch, then
 * 0.966 at epoch 60 (0.968 on the whole split, test 0.828), flat to 0.001 over its last 10 epochs. So: 80 epochs
 * at 1e-3, then 20 at 1e-4 for the plateau (the curve is in results/adult-overfit-mlp/table.md).
 * The whole-network runs: the same optimiser from the ERM weights, lr 1e-4, 5 epochs, the last one kept.
 * On the quiet machine (load average under 4): 1.35 s an epoch, 0.982 on the whole training split after 100
 * epochs, each whole-network run 6-8 s; `--seeds 1` took 165 s in all.
 */
export const OVERFIT_MLP: OverfitProtocol = {
  erm: { epochs: 100, hidden: [512, 512], mlp: { learningRate: 1e-3, lrStepEpochs: 80, lrGamma: 0.1, weightDecay: 0, batchSize: 128, keepBest: false, engine: 'onnxruntime' } },
  full: { epochs: 5, mlp: { learningRate: 1e-4, weightDecay: 0, batchSize: 128, keepBest: false, engine: 'onnxruntime' } },
};

/**
 * utkface-overfit-cnn: the ERM network, the small ResNet (channels 16, 32, 64, 128: about 307,000 weights for 5,866
 * training faces) at 32 px without augmentation, SGD momentum 0.9, weight decay 5e-4, batches of 64, lr 0.05
 * divided by 10 after epochs 6 and 12, 16 epochs, the last one kept. Measured on the shared 2-core machine: training
 * accuracy (over the epoch's batches) 0.89 after 6 epochs, 0.976 after 10, 0.990 after 14, at 9-30 s an epoch
 * depending on the load (the wider channels 32-256 reached 0.970 after 8 epochs at 2.7x the time per epoch).
 * After issue 24's training step, on the quiet machine (load average under 3): 5.6 s an epoch, 0.994 after 13
 * epochs (0.997 on the whole training split), each whole-network run 43-52 s; `--seeds 1` took 252 s in all.
 * The whole-network runs: the same SGD from the ERM weights, lr 0.005 (the ERM's second step), 5 epochs, no
 * augmentation, the last one kept.
 */
export const OVERFIT_CNN: OverfitProtocol = {
  erm: { epochs: 16, imageSize: 32, cnn: { channels: [16, 32, 64, 128], learningRate: 0.05, lrStepEpochs: 6, lrGamma: 0.1, augment: false, keepBest: false } },
  full: { epochs: 5, cnn: { channels: [16, 32, 64, 128], learningRate: 0.005, lrStepEpochs: 100, augment: false, keepBest: false } },
};

/**
 * Every CNN training of the protocol (ERM pre-training and whole-network runs) normalises each batch of 64 as a
 * whole, as the paper's PyTorch recipe does on one device, where `--backbone cnn` normalises it in BN groups of 32
 * by default (trainCnn's `bnGroupSize`); so the committed results/ hold for the commands beside them.
 */
export const PAPER_BN: Pick<CnnOptions, 'bnGroupSize'> = { bnGroupSize: 64 };

/** The alphas of the over-fitting experiments: `full` + EO and the heads M1, M2, M2w, M2p + EO, each at every one. */
export const OVERFIT_ALPHAS: readonly number[] = [1, 2, 5];

/** Seeds of the over-fitting experiments' whole-network runs (3: each is a network trained for 5 epochs). */
export const OVERFIT_FULL_SEEDS = 3;

/** The fair methods of the grid: the paper's M1 and M2, and M2's two remedies M2w and M2p (see finetune-sets.ts). */
export const FAIR_METHODS = ['m1', 'm2', 'm2w', 'm2p'] as const;

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
 * The settings trained for one experiment. Full mode: B1, B2, B3; each fair method ({@link FAIR_METHODS}: M1, M2
 * and M2's remedies M2w, M2p) x {eo, dp, di, ae} x alpha {2, 5}, x mmf once (mmf replaces the loss, alpha is
 * ignored), and the sweep x {eo, dp} x {0.5, 1, 10, 20}; 5 seeds; `full` ({@link FULL_SETTINGS}) on Adult,
 * {@link CNN_FULL_SETTINGS} with the cnn backbone (3 seeds of full runs, {@link CNN_EPOCHS} epochs); none on
 * face-api (it cannot be trained). The over-fitting experiments: B1, B2, B3 and the fair methods x EO x
 * {@link OVERFIT_ALPHAS} (5 seeds), `full` + EO at the same alphas from the ERM weights ({@link OVERFIT_FULL_SEEDS}
 * seeds). Quick mode (`--quick`, a smoke test): 1 seed, B1, the fair methods x eo x alpha 5, M2 x dp x alpha 5,
 * full x eo x alpha 5 with 8 epochs (cnn: 2; over-fitting: smaller networks, 2 ERM epochs and 1 full epoch).
 *
 * @example
 * settingsGrid('adult', { quick: true }).heads.length; // 6
 */
export function settingsGrid(experiment: ExperimentName, options: { quick?: boolean; seeds?: number } = {}): ReproduceGrid {
  checkExperiment(experiment);
  const tabular = experiment === 'adult';
  const cnn = experiment === 'utkface-gender-race-cnn';
  const overfit = experiment === 'adult-overfit-mlp' ? OVERFIT_MLP : experiment === 'utkface-overfit-cnn' ? OVERFIT_CNN : undefined;
  if (options.quick === true) {
    const seeds = options.seeds ?? 1;
    const quick = overfit ? quickOverfit(overfit) : undefined;
    return {
      seeds,
      heads: [
        { method: 'b1', constraint: 'eo', alpha: 0 },
        ...FAIR_METHODS.map((method) => ({ method, constraint: 'eo' as const, alpha: 5 })),
        { method: 'm2', constraint: 'dp', alpha: 5 },
      ],
      full: tabular || cnn || overfit ? [{ constraint: 'eo', alpha: 5 }] : [],
      fullSeeds: seeds,
      epochs: quick ? quick.erm.epochs : cnn ? 2 : 8,
      threshold: true,
      ...(quick ? { overfit: quick } : {}),
    };
  }
  const seeds = options.seeds ?? 5;
  const heads: HeadSetting[] = [
    { method: 'b1', constraint: 'eo', alpha: 0 },
    { method: 'b2', constraint: 'eo', alpha: 0 },
    { method: 'b3', constraint: 'eo', alpha: 0 },
  ];
  if (overfit) {
    for (const method of FAIR_METHODS) for (const alpha of OVERFIT_ALPHAS) heads.push({ method, constraint: 'eo', alpha });
    const full = OVERFIT_ALPHAS.map((alpha) => ({ constraint: 'eo' as const, alpha }));
    return { seeds, heads, full, fullSeeds: Math.min(seeds, OVERFIT_FULL_SEEDS), epochs: overfit.erm.epochs, threshold: true, overfit };
  }
  for (const method of FAIR_METHODS) {
    for (const constraint of REPRODUCE_CONSTRAINTS) {
      if (constraint === 'mmf') {
        heads.push({ method, constraint, alpha: 1 });
        continue;
      }
      const alphas = constraint === 'eo' || constraint === 'dp' ? SWEEP_ALPHAS : PAPER_ALPHAS;
      for (const alpha of alphas) heads.push({ method, constraint, alpha });
    }
  }
  if (cnn) return { seeds, heads, full: [...CNN_FULL_SETTINGS], fullSeeds: Math.min(seeds, CNN_SEEDS), epochs: CNN_EPOCHS, threshold: true };
  const full: FullSetting[] = tabular ? [...FULL_SETTINGS] : [];
  return { seeds, heads, full, fullSeeds: seeds, epochs: 50, threshold: true };
}

/** The smoke-test form of an over-fitting protocol: narrower networks, 2 ERM epochs, 1 whole-network epoch. */
function quickOverfit(p: OverfitProtocol): OverfitProtocol {
  return {
    erm: { ...p.erm, epochs: 2, ...(p.erm.hidden ? { hidden: [64, 64] } : {}), ...(p.erm.mlp ? { mlp: { ...p.erm.mlp, lrStepEpochs: 0 } } : {}), ...(p.erm.cnn ? { cnn: { ...p.erm.cnn, channels: [4, 8, 16, 32] } } : {}) },
    full: { ...p.full, epochs: 1, ...(p.full.cnn ? { cnn: { ...p.full.cnn, channels: [4, 8, 16, 32] } } : {}) },
  };
}

/**
 * Parse `--experiment`: one name or `all` (every experiment, in {@link EXPERIMENTS} order).
 *
 * @example
 * parseExperiments('all'); // ['adult', 'utkface-gender-race', 'utkface-age-gender', 'utkface-gender-race-cnn', 'adult-overfit-mlp', 'utkface-overfit-cnn']
 * parseExperiments('celeba'); // InputError: Unknown experiment "celeba". Valid: adult, utkface-gender-race, ..., utkface-overfit-cnn, all
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
