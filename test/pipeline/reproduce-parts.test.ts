import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPenalty } from '../../src/fairness/penalties/registry.ts';
import type { MlpBatch } from '../../src/backbone/mlp.ts';
import { penaltyExtraLoss, trainFullFair } from '../../src/pipeline/reproduce/full-training.ts';
import { trainMlp } from '../../src/backbone/mlp.ts';
import { loadTabular } from '../../src/data/load-tabular.ts';
import type { LinearHead } from '../../src/head/linear-head.ts';
import { fitGroupThresholds, positiveProbability, predictGroupThresholds } from '../../src/pipeline/reproduce/group-thresholds.ts';
import { parseExperiments, settingsGrid } from '../../src/pipeline/reproduce/protocol.ts';
import { deriveUtkfaceRow, writeUtkfaceLabels, writeUtkfaceLabelsFromNames } from '../../src/pipeline/reproduce/utkface-labels.ts';
import { ADULT_TEST, ADULT_TRAIN, describeWithUtkface } from '../support/data.ts';

describe('group thresholds (equalized-odds post-processing)', () => {
  // group a: 0.9 (y=1), 0.1 (y=0) -> hull (0,0) (0,1) (1,1)
  // group b: 0.8 (1), 0.6 (0), 0.4 (1), 0.2 (0) -> ROC (0,.5) (.5,.5) (.5,1) (1,1); hull (0,0) (0,.5) (.5,1) (1,1)
  // common curve y(x) = min(1, 0.5 + x); accuracy (3 y + 3 (1 - x)) / 6 = 0.75 on [0, 0.5]: the first, x = 0, y = 0.5
  const scores = [0.9, 0.1, 0.8, 0.6, 0.4, 0.2];
  const y = Int32Array.of(1, 0, 1, 0, 1, 0);
  const group = Int32Array.of(0, 0, 1, 1, 1, 1);

  it('moves every group to the most accurate common (FPR, TPR) point on the validation data', () => {
    const t = fitGroupThresholds(scores, y, group, ['a', 'b']);
    expect(t.fpr).toBe(0);
    expect(t.tpr).toBe(0.5);
  });

  it('lowers the better group to the common point by ignoring its score half the time (pIgnore = (1 - 0.5) / (1 - 0))', () => {
    const t = fitGroupThresholds(scores, y, group, ['a', 'b']);
    expect(t.rules[0]?.pIgnore).toBeCloseTo(0.5, 12);
    expect(t.rules[1]?.pIgnore).toBe(0);
    // a: P(1 | 0.9) = 0.5 * 1 + 0.5 * 0; b: only 0.8 reaches the threshold
    expect(Array.from(positiveProbability(t, scores, group))).toEqual([0.5, 0, 1, 0, 0, 0]);
  });

  it('gives the same randomised predictions for the same seed, at the rate P(predict 1)', () => {
    const t = fitGroupThresholds(scores, y, group, ['a', 'b']);
    const many = new Array(10_000).fill(0.9);
    const groups = new Int32Array(10_000);
    const first = predictGroupThresholds(t, many, groups, 7);
    expect(Array.from(predictGroupThresholds(t, many, groups, 7))).toEqual(Array.from(first));
    const rate = first.reduce((s, v) => s + v, 0) / first.length;
    expect(Math.abs(rate - 0.5)).toBeLessThan(0.03);
  });

  it('needs positives and negatives in every group, and says which group lacks them', () => {
    expect(() => fitGroupThresholds([0.2, 0.7, 0.4], Int32Array.of(1, 0, 0), Int32Array.of(0, 0, 1), ['a', 'b'])).toThrow(
      'group thresholds: group "b" has 0 positive and 1 negative rows in the fitting data; it needs both',
    );
  });
});

describe('penaltyExtraLoss (whole-network fair training)', () => {
  const batch = (p: number[]): MlpBatch => ({
    split: 'train',
    epoch: 1,
    rows: p.length,
    classes: 2,
    probabilities: Float64Array.from(p.flatMap((v) => [1 - v, v])),
    y: Int32Array.of(0, 1, 0, 1),
    group: Int32Array.of(0, 0, 1, 1),
    indices: Int32Array.of(0, 1, 2, 3),
  });
  const p = [0.2, 0.6, 0.4, 0.8];

  it('is alpha times the penalty: eo of p = [0.2, 0.6 | 0.4, 0.8] is |0.2 - 0.4| + |0.4 - 0.2| = 0.4, times 2', () => {
    const term = penaltyExtraLoss(createPenalty('eo', { smoothing: 'none' }), 2, 2)(batch(p));
    expect(term.value).toBeCloseTo(0.8, 12);
  });

  for (const name of ['eo', 'dp', 'ae', 'mmf'] as const) {
    it(`has the gradient of finite differences in P(class 1) (${name})`, () => {
      const loss = penaltyExtraLoss(createPenalty(name, { smoothing: 'none' }), 3, 2);
      // no ties between cells or groups (the penalties have kinks there)
      const q = [0.2, 0.7, 0.35, 0.9];
      const g = loss(batch(q)).gradient;
      const h = 1e-6;
      for (let i = 0; i < q.length; i++) {
        const up = [...q];
        const down = [...q];
        up[i] = (up[i] as number) + h;
        down[i] = (down[i] as number) - h;
        const numeric = (loss(batch(up)).value - loss(batch(down)).value) / (2 * h);
        expect(g[2 * i + 1]).toBeCloseTo(numeric, 5);
        expect(g[2 * i]).toBe(0);
      }
    });
  }

  it('replaces the cross-entropy for mmf: the term is mmf - mean CE', () => {
    // CE = -log(0.8), -log(0.6), -log(0.6), -log(0.8); cells hold one row each -> mmf = -log(0.6)
    const ce = [-Math.log(0.8), -Math.log(0.6), -Math.log(0.6), -Math.log(0.8)];
    const term = penaltyExtraLoss(createPenalty('mmf', { smoothing: 'none' }), 5, 2)(batch(p));
    expect(term.value).toBeCloseTo(-Math.log(0.6) - ce.reduce((s, v) => s + v, 0) / 4, 12);
  });
});

describe('whole-network fair training from trained weights (trainFullFair with init)', () => {
  it('starts from the ERM network: at lr ~0 its predictions are the ERM network\'s, from scratch they are not', async () => {
    const { train, validation, test } = loadTabular({ train: ADULT_TRAIN, test: ADULT_TEST, target: 'Y', positive: '>50K', sensitive: ['sex'], seed: 0 });
    const erm = await trainMlp(train, validation, { hidden: [16], epochs: 2, seed: 0 });
    const raw = { train, validation, test };
    const accuracyOf = async (head: LinearHead, x: Awaited<ReturnType<typeof erm.backbone.embed>>, y: Int32Array): Promise<number> => {
      const p = head.predict(x);
      return p.reduce((n, v, i) => n + (v === y[i] ? 1 : 0), 0) / y.length;
    };
    const ermTest = await accuracyOf(erm.head, await erm.backbone.embed(test.x), test.y);
    const fromErm = await trainFullFair(raw, { constraint: 'eo', alpha: 5, seed: 3, epochs: 1, hidden: [16], mlp: { learningRate: 1e-12, keepBest: false }, init: erm.backbone });
    expect(fromErm.splits.test.accuracy).toBeCloseTo(ermTest, 6);
    const fresh = await trainFullFair(raw, { constraint: 'eo', alpha: 5, seed: 3, epochs: 1, hidden: [16], mlp: { learningRate: 1e-12, keepBest: false } });
    expect(Math.abs(fresh.splits.test.accuracy - ermTest)).toBeGreaterThan(0.01);
  }, 120_000);
});

describe('derived UTKFace labels', () => {
  it('groups race into white / non-white, names gender, and thresholds age at 30', () => {
    expect(deriveUtkfaceRow({ file: 'a.jpg', age: '31', gender: '1', race: '2' }, 'x:2')).toEqual(['a.jpg', '1', 'female', 'non-white', '1']);
    expect(deriveUtkfaceRow({ file: 'b.jpg', age: '29', gender: '0', race: '0' }, 'x:3')).toEqual(['b.jpg', '0', 'male', 'white', '0']);
    expect(deriveUtkfaceRow({ file: 'c.jpg', age: '30', gender: '0', race: '4' }, 'x:4')[4]).toBe('1');
  });

  it('names the line and column of a bad value', () => {
    expect(() => deriveUtkfaceRow({ file: 'a.jpg', age: '31', gender: '2', race: '0' }, 'labels.csv:7')).toThrow(
      'labels.csv:7: column "gender": expected 0 (male) or 1 (female), received "2"',
    );
  });

  it('writes one derived row per labels.csv row, in order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-utk-'));
    const source = join(dir, 'source.csv');
    writeFileSync(source, 'file,age,gender,race,in_balanced_2000\na.jpg,31,1,2,1\nb.jpg,29,0,0,0\n');
    const out = join(dir, 'labels.csv');
    expect(writeUtkfaceLabels(source, out)).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe('file,gender,gender_name,race_group,age_at_least_30\na.jpg,1,female,non-white,1\nb.jpg,0,male,white,0\n');
  });
});

describe('labels from UTKFace file names', () => {
  it('reads age, gender and race from {age}_{gender}_{race}_{date}.jpg[.chip.jpg], sorted, leaving out other names', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fairhead-utk-names-')), 'labels.csv');
    const n = writeUtkfaceLabelsFromNames(['9_1_4_20170103.jpg.chip.jpg', '31_0_2_20170116174525125.jpg', '39_1_20170116174525125.jpg.chip.jpg', 'notes.txt'], out);
    expect(n).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe('file,age,gender,race,in_balanced_2000\n31_0_2_20170116174525125.jpg,31,0,2,1\n9_1_4_20170103.jpg.chip.jpg,9,1,4,1\n');
  });

  it('marks the first 200 files of each gender x race cell as in_balanced_2000', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fairhead-utk-names-')), 'labels.csv');
    const names = Array.from({ length: 250 }, (_, i) => `20_0_0_${String(i).padStart(4, '0')}.jpg`).concat(['20_1_0_1.jpg']);
    expect(writeUtkfaceLabelsFromNames(names, out)).toBe(251);
    const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    expect(rows.filter((r) => r[2] === '0' && r[4] === '1')).toHaveLength(200);
    expect(rows.filter((r) => r[2] === '1')[0]?.[4]).toBe('1');
  });
});

describeWithUtkface('derived labels of the real UTKFace labels.csv', (utk) => {
  it('keeps the counts: 9,778 rows, 5,265 white, 5,406 female, 4,097 aged 30 or more', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fairhead-utk-')), 'labels.csv');
    expect(writeUtkfaceLabels(join(utk, 'labels.csv'), out)).toBe(9778);
    const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    expect(rows.filter((r) => r[3] === 'white').length).toBe(5265);
    expect(rows.filter((r) => r[2] === 'female').length).toBe(5406);
    expect(rows.filter((r) => r[4] === '1').length).toBe(4097);
  });
});

describe('protocol', () => {
  it('runs B1-B3, M1/M2/M2w/M2p x 5 constraints (eo and dp over the alpha sweep), and full on Adult only', () => {
    const adult = settingsGrid('adult');
    expect(adult.seeds).toBe(5);
    // 3 B* + 4 fair methods x (eo 6 + dp 6 + di 2 + ae 2 + mmf 1) = 71
    expect(adult.heads.length).toBe(71);
    expect(adult.heads.filter((h) => h.method === 'm2w')).toEqual(adult.heads.filter((h) => h.method === 'm2').map((h) => ({ ...h, method: 'm2w' })));
    expect(adult.full.length).toBeGreaterThan(0);
    expect(adult.fullSeeds).toBe(5);
    expect(settingsGrid('utkface-gender-race').full).toEqual([]);
    expect(settingsGrid('adult', { quick: true }).seeds).toBe(1);
  });

  it('trains the whole CNN with EO at alpha 1 and 5 on UTKFace with the cnn backbone, over 3 seeds, beside 5 seeds of the same head grid', () => {
    const cnn = settingsGrid('utkface-gender-race-cnn');
    expect([cnn.seeds, cnn.fullSeeds]).toEqual([5, 3]);
    expect(cnn.heads).toEqual(settingsGrid('utkface-gender-race').heads);
    expect(cnn.full).toEqual([{ constraint: 'eo', alpha: 1 }, { constraint: 'eo', alpha: 5 }]);
    expect(cnn.epochs).toBe(10);
    const quick = settingsGrid('utkface-gender-race-cnn', { quick: true });
    expect([quick.seeds, quick.epochs, quick.full.length]).toEqual([1, 2, 1]);
  });

  it('over-fitting experiments: B1-B3, the fair methods and full, all with EO at 1, 2 and 5; networks trained to their last epoch', () => {
    for (const name of ['adult-overfit-mlp', 'utkface-overfit-cnn'] as const) {
      const grid = settingsGrid(name);
      expect(grid.heads.length).toBe(3 + 4 * 3);
      expect(grid.heads.filter((h) => h.method === 'm1').map((h) => [h.constraint, h.alpha])).toEqual([['eo', 1], ['eo', 2], ['eo', 5]]);
      expect(grid.full).toEqual([1, 2, 5].map((alpha) => ({ constraint: 'eo', alpha })));
      expect([grid.seeds, grid.fullSeeds]).toEqual([5, 3]);
      const erm = grid.overfit?.erm;
      expect(erm?.mlp?.keepBest ?? erm?.cnn?.keepBest).toBe(false);
      expect(grid.epochs).toBe(erm?.epochs);
    }
    expect(settingsGrid('utkface-overfit-cnn').overfit?.erm.cnn?.augment).toBe(false);
    expect(settingsGrid('adult-overfit-mlp').overfit?.erm.hidden).toEqual([512, 512]);
    const quick = settingsGrid('adult-overfit-mlp', { quick: true });
    expect([quick.epochs, quick.overfit?.erm.hidden, quick.overfit?.full.epochs]).toEqual([2, [64, 64], 1]);
  });

  it('parses all, and lists the valid experiments for an unknown one', () => {
    expect(parseExperiments('all')).toEqual(['adult', 'utkface-gender-race', 'utkface-age-gender', 'utkface-gender-race-cnn', 'adult-overfit-mlp', 'utkface-overfit-cnn']);
    expect(() => parseExperiments('celeba')).toThrow('Unknown experiment "celeba". Valid: adult, utkface-gender-race, utkface-age-gender, utkface-gender-race-cnn, adult-overfit-mlp, utkface-overfit-cnn, all');
  });
});
