/**
 * Writes test/fixtures/metrics-sample.json: a realistic, internally consistent metrics file shaped like a UCI Adult
 * sweep (target >50K, sensitive sex), made without training anything. Per-group TPR/FPR are set per run (a
 * fairness strength s = 1 - exp(-k * alpha) pulls the two groups together), and every summary number — accuracy,
 * selection rates, gaps, ratios, worst-group accuracy, intervals — is computed from them, so the file can be
 * checked by hand. Run: `npx tsx test/report/make-sample.ts`.
 */
import { writeFileAtomic } from '../../src/atomic-write.ts';
import type { GroupRow, MethodName, MetricsFile, RunRecord, SplitSummary } from '../../src/report/schema.ts';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = mulberry32(20231127);
const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;
const clip = (v: number): number => Math.min(0.999, Math.max(0.001, v));

interface Rates { tpr: number; fpr: number }
interface Population { count: Record<string, number>; positive: Record<string, number> }

const POP: Record<'train' | 'finetune' | 'test', Population> = {
  train: { count: { Male: 21790, Female: 10771 }, positive: { Male: 0.3057, Female: 0.1095 } },
  finetune: { count: { Male: 1000, Female: 1000 }, positive: { Male: 0.3057, Female: 0.1095 } },
  test: { count: { Male: 10860, Female: 5421 }, positive: { Male: 0.3000, Female: 0.1090 } },
};

function summarise(rates: Record<string, Rates>, pop: Population, auc: number, intervals: boolean): SplitSummary {
  const groups = Object.keys(rates);
  const byGroup: Record<string, GroupRow> = {};
  let rows = 0, correct = 0, pos = 0, tp = 0, neg = 0, fp = 0;
  for (const g of groups) {
    const { tpr, fpr } = rates[g] as Rates;
    const n = pop.count[g] as number;
    const p = pop.positive[g] as number;
    const accuracy = tpr * p + (1 - fpr) * (1 - p);
    byGroup[g] = { count: n, accuracy: r4(accuracy), selectionRate: r4(tpr * p + fpr * (1 - p)), tpr: r4(tpr), fpr: r4(fpr), fnr: r4(1 - tpr), tnr: r4(1 - fpr), auc: r4(auc + (g === 'Female' ? 0.02 : -0.01)) };
    rows += n; correct += accuracy * n; pos += n * p; tp += n * p * tpr; neg += n * (1 - p); fp += n * (1 - p) * fpr;
  }
  const rows_ = groups.map((g) => byGroup[g] as GroupRow);
  const spread = (f: (r: GroupRow) => number): number => Math.max(...rows_.map(f)) - Math.min(...rows_.map(f));
  const ratio = (f: (r: GroupRow) => number): number => Math.min(...rows_.map(f)) / Math.max(...rows_.map(f));
  const accuracy = correct / rows;
  const eo = Math.max(spread((r) => r.tpr), spread((r) => r.fpr));
  const dp = spread((r) => r.selectionRate);
  const worst = Math.min(...rows_.map((r) => r.accuracy));
  const summary: SplitSummary = {
    rows,
    accuracy: r4(accuracy),
    balancedAccuracy: r4((tp / pos + 1 - fp / neg) / 2),
    auc: r4(auc),
    demographicParityDifference: r4(dp),
    demographicParityRatio: r4(ratio((r) => r.selectionRate)),
    equalizedOddsDifference: r4(eo),
    equalizedOddsRatio: r4(Math.min(ratio((r) => r.tpr), ratio((r) => r.fpr))),
    equalOpportunityDifference: r4(spread((r) => r.tpr)),
    accuracyEqualityDifference: r4(spread((r) => r.accuracy)),
    worstGroupAccuracy: r4(worst),
    worstCellAccuracy: r4(Math.min(...rows_.map((r) => Math.min(r.tpr, r.tnr)))),
    byGroup,
  };
  if (!intervals) return summary;
  // normal-approximation stand-ins for bootstrap 95% intervals
  const [m, f] = [byGroup['Male'] as GroupRow, byGroup['Female'] as GroupRow];
  const nPos = (g: string): number => (pop.count[g] as number) * (pop.positive[g] as number);
  const nNeg = (g: string): number => (pop.count[g] as number) * (1 - (pop.positive[g] as number));
  const sdTpr = Math.sqrt((m.tpr * (1 - m.tpr)) / nPos('Male') + (f.tpr * (1 - f.tpr)) / nPos('Female'));
  const sdFpr = Math.sqrt((m.fpr * (1 - m.fpr)) / nNeg('Male') + (f.fpr * (1 - f.fpr)) / nNeg('Female'));
  const sdSel = Math.sqrt((m.selectionRate * (1 - m.selectionRate)) / m.count + (f.selectionRate * (1 - f.selectionRate)) / f.count);
  const sdAcc = Math.sqrt((accuracy * (1 - accuracy)) / rows);
  const sdWorst = Math.sqrt((worst * (1 - worst)) / Math.min(m.count, f.count));
  const band = (v: number, sd: number): [number, number] => [r4(Math.max(0, v - 1.96 * sd)), r4(v + 1.96 * sd)];
  return {
    ...summary,
    intervals: {
      accuracy: band(accuracy, sdAcc),
      equalizedOddsDifference: band(eo, Math.max(sdTpr, sdFpr)),
      demographicParityDifference: band(dp, sdSel),
      worstGroupAccuracy: band(worst, sdWorst),
    },
  };
}

// ERM rates on test data (threshold 0.5), typical of Adult with sex as the sensitive attribute
const ERM: Record<string, Rates> = { Male: { tpr: 0.64, fpr: 0.105 }, Female: { tpr: 0.55, fpr: 0.022 } };

function fairRates(constraint: string, s: number, noise: number): Record<string, Rates> {
  const jitter = (): number => noise * normal();
  const m = ERM['Male'] as Rates;
  const f = ERM['Female'] as Rates;
  if (constraint === 'dp') {
    return {
      Male: { tpr: clip(m.tpr - 0.08 * s + jitter()), fpr: clip(m.fpr - 0.04 * s + jitter() / 2) },
      Female: { tpr: clip(f.tpr + 0.25 * s + jitter()), fpr: clip(f.fpr + 0.09 * s + jitter() / 2) },
    };
  }
  return {
    Male: { tpr: clip(m.tpr - 0.03 * s + jitter()), fpr: clip(m.fpr - 0.025 * s + jitter() / 2) },
    Female: { tpr: clip(f.tpr + 0.085 * s + jitter()), fpr: clip(f.fpr + 0.058 * s + jitter() / 2) },
  };
}

/** Shrink group differences by `factor` around their mean (a split on which the penalty was fitted looks fairer). */
function shrink(rates: Record<string, Rates>, factor: number): Record<string, Rates> {
  const groups = Object.keys(rates);
  const mean = (k: keyof Rates): number => groups.reduce((s, g) => s + (rates[g] as Rates)[k], 0) / groups.length;
  const [mt, mf] = [mean('tpr'), mean('fpr')];
  const out: Record<string, Rates> = {};
  for (const g of groups) {
    const r = rates[g] as Rates;
    out[g] = { tpr: clip(mt + factor * (r.tpr - mt)), fpr: clip(mf + factor * (r.fpr - mf)) };
  }
  return out;
}

const HEAD = 129; // 128 inputs + 1 bias
const TOTAL = 108 * 256 + 256 + 256 * 128 + 128 + HEAD; // 108 -> 256 -> 128 -> 1 MLP = 60,929

interface Plan { method: MethodName; constraint: string; alpha: number; seeds: number[]; strength: number; trainFactor: number; finetuneFactor: number }
const plans: Plan[] = [{ method: 'shipped', constraint: 'none', alpha: 0, seeds: [0], strength: 0, trainFactor: 0.8, finetuneFactor: 1 }];
for (const method of ['b1', 'b2', 'b3'] as const) {
  plans.push({ method, constraint: 'none', alpha: 0, seeds: [0, 1, 2], strength: { b1: 0.02, b2: 0.1, b3: 0.16 }[method], trainFactor: 0.85, finetuneFactor: 0.95 });
}
for (const method of ['m1', 'm2'] as const) {
  for (const constraint of ['dp', 'eo']) {
    for (const alpha of [0.3, 1, 3]) {
      const k = method === 'm2' ? 1.1 : 0.7;
      plans.push({ method, constraint, alpha, seeds: [0, 1, 2], strength: 1 - Math.exp(-k * alpha), trainFactor: method === 'm1' ? 0.45 : 0.9, finetuneFactor: method === 'm2' ? 0.6 : 0.95 });
    }
  }
}
plans.push({ method: 'threshold', constraint: 'eo', alpha: 1, seeds: [0, 1, 2], strength: 0.9, trainFactor: 0.7, finetuneFactor: 0.5 });
plans.push({ method: 'full', constraint: 'eo', alpha: 1, seeds: [0], strength: 0.75, trainFactor: 0.2, finetuneFactor: 0.4 });

const runs: RunRecord[] = [];
for (const plan of plans) {
  for (const seed of plan.seeds) {
    const test = fairRates(plan.constraint, plan.strength, 0.008);
    const auc = 0.905 - 0.02 * plan.strength + 0.003 * normal();
    const seconds =
      plan.method === 'full' ? 48.3 : plan.method === 'shipped' ? 41.7 : plan.method === 'm1' ? 5.8 + 0.6 * rng() : plan.method === 'threshold' ? 0.05 : 0.35 + 0.3 * rng();
    const trained = plan.method === 'full' || plan.method === 'shipped' ? TOTAL : plan.method === 'threshold' ? 2 : HEAD;
    runs.push({
      method: plan.method,
      constraint: plan.constraint,
      alpha: plan.alpha,
      seed,
      splits: {
        train: summarise(shrink(test, plan.trainFactor), POP.train, auc + 0.01, false),
        finetune: summarise(shrink(test, plan.finetuneFactor), POP.finetune, auc, false),
        test: summarise(test, POP.test, auc, true),
      },
      cost: {
        seconds: r4(seconds),
        parametersTrained: trained,
        parametersTotal: TOTAL,
        finetuneRows: plan.method === 'm1' || plan.method === 'full' || plan.method === 'shipped' ? 32561 : 2000,
        ...(plan.method === 'shipped' ? { backboneSeconds: 41.7 } : {}),
        optimizer: plan.method === 'full' || plan.method === 'shipped' ? 'adam' : plan.method === 'threshold' ? 'grid' : 'lbfgs',
        iterations: plan.method === 'full' || plan.method === 'shipped' ? 30 : plan.method === 'threshold' ? 101 : 40 + Math.floor(60 * rng()),
      },
    });
  }
}

const metrics: MetricsFile = {
  format: 'fairhead.metrics',
  version: 1,
  context: {
    dataset: 'UCI Adult',
    backbone: 'mlp 108-256-128 (ERM)',
    target: 'Y',
    sensitive: ['sex'],
    positive: '>50K',
    createdAt: '2025-11-27T18:00:00.000Z',
    machine: 'sample numbers from test/report/make-sample.ts',
  },
  runs,
};
const file = new URL('../fixtures/metrics-sample.json', import.meta.url).pathname;
writeFileAtomic(file, `${JSON.stringify(metrics, null, 2)}\n`);
process.stdout.write(`wrote ${file}: ${runs.length} runs\n`);
