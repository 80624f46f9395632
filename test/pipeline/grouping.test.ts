import { describe, expect, it } from 'vitest';
import { matrix } from '../../src/data/matrix.ts';
import type { EmbeddingSet } from '../../src/data/dataset.ts';
import { groupParts, OTHER_GROUP, regroup } from '../../src/pipeline/grouping.ts';
import type { PreparedData } from '../../src/pipeline/prepare.ts';

/** A set whose rows belong to the groups given by name, one row per entry (labels alternate 0, 1). */
function setOf(names: readonly string[], groups: readonly string[]): EmbeddingSet {
  const index = new Map(names.map((n, i) => [n, i]));
  return {
    x: matrix(new Float32Array(groups.length), groups.length, 1),
    y: Int32Array.from(groups, (_, i) => i % 2),
    classes: ['0', '1'],
    group: Int32Array.from(groups, (g) => index.get(g) as number),
    groupNames: names,
  };
}

const repeat = (name: string, n: number): string[] => Array.from({ length: n }, () => name);

/** Prepared data with the groups `names` and, per split, the rows of each group. */
function prepared(names: readonly string[], train: string[], validation: string[], test: string[]): PreparedData {
  return {
    train: setOf(names, train),
    validation: setOf(names, validation),
    test: setOf(names, test),
    dataset: 'd.csv',
    input: { kind: 'embeddings' },
    warnings: [],
    backbone: { kind: 'embeddings', spec: 'embeddings', parameterCount: 0, seconds: 0 },
  };
}

describe('groupParts', () => {
  it('splits crossed names into one value per column, and refuses a value holding "|"', () => {
    expect(groupParts(['F|Black', 'M|White'], ['sex', 'race'], 'd.csv')).toEqual([['F', 'Black'], ['M', 'White']]);
    expect(groupParts(['a|b'], ['only'], 'd.csv')).toEqual([['a|b']]);
    expect(() => groupParts(['F|Black|x'], ['sex', 'race'], 'd.csv')).toThrow('d.csv: group "F|Black|x" does not split into one value per sensitive column (sex, race)');
  });
});

describe('regroup', () => {
  const names = ['F|Black', 'F|White', 'M|Black', 'M|White'];
  const data = prepared(
    names,
    [...repeat('F|Black', 3), ...repeat('F|White', 10), ...repeat('M|Black', 4), ...repeat('M|White', 12)],
    [...repeat('F|Black', 1), ...repeat('F|White', 2)],
    [...repeat('F|Black', 2), ...repeat('M|White', 2)],
  );

  it('without options returns the data as it is', () => {
    const r = regroup(data, ['sex', 'race'], {});
    expect(r.prepared).toBe(data);
    expect(r.warnings).toEqual([]);
  });

  it('--group-by crosses only the chosen columns, sorted, in every split', () => {
    const r = regroup(data, ['sex', 'race'], { groupBy: ['race'] });
    expect(r.prepared.train.groupNames).toEqual(['Black', 'White']);
    // train rows: 3 F|Black, 10 F|White, 4 M|Black, 12 M|White -> Black 0, White 1
    expect(Array.from(r.prepared.train.group)).toEqual([...Array(3).fill(0), ...Array(10).fill(1), ...Array(4).fill(0), ...Array(12).fill(1)]);
    expect(Array.from(r.prepared.test.group)).toEqual([0, 0, 1, 1]);
    expect(r.prepared.test.groupNames).toEqual(['Black', 'White']);
    // labels and features untouched
    expect(r.prepared.train.y).toEqual(data.train.y);
    expect(r.prepared.train.x).toBe(data.train.x);
  });

  it('folds groups under --min-group-size (train + validation rows) into "(other)", listed last, and says so', () => {
    // train + validation: F|Black 3 + 1 = 4, F|White 12, M|Black 4, M|White 12
    const r = regroup(data, ['sex', 'race'], { minGroupSize: 5 });
    expect(r.prepared.train.groupNames).toEqual(['F|White', 'M|White', OTHER_GROUP]);
    expect(r.small).toEqual([{ name: 'F|Black', rows: 4 }, { name: 'M|Black', rows: 4 }]);
    expect(r.folded).toBe(OTHER_GROUP);
    expect(Array.from(r.prepared.test.group)).toEqual([2, 2, 1, 1]);
    expect(r.warnings).toEqual([
      'd.csv: --min-group-size 5: 2 groups with fewer rows in train + validation were folded into one group "(other)" (8 rows): "F|Black" (4), "M|Black" (4)',
    ]);
  });

  it('says when the folded group itself stays small', () => {
    const r = regroup(data, ['sex', 'race'], { minGroupSize: 10 });
    expect(r.warnings[0]).toMatch(/"\(other\)" itself has fewer than 10 rows$/);
  });

  it('keeps a single small group under its own name, with a warning', () => {
    const r = regroup(data, ['sex', 'race'], { groupBy: ['race'], minGroupSize: 9 });
    // Black: 4 + 4 = 8 rows, White: 24
    expect(r.prepared.train.groupNames).toEqual(['Black', 'White']);
    expect(r.warnings).toEqual(['d.csv: --min-group-size 9: only group "Black" has fewer rows in train + validation (8); it is kept as it is (folding needs two small groups)']);
  });

  it('refuses to leave fewer than two groups, and names a --group-by column outside --sensitive', () => {
    expect(() => regroup(data, ['sex', 'race'], { minGroupSize: 100 })).toThrow(/every group has fewer rows in train \+ validation \(largest: 12\); group fairness needs two groups/);
    const oneRace = prepared(['F|x', 'M|x'], ['F|x', 'M|x'], [], []);
    expect(() => regroup(oneRace, ['sex', 'race'], { groupBy: ['race'] })).toThrow('d.csv: with --group-by race only one group is left ("x"); group fairness needs two groups');
    expect(() => regroup(data, ['sex', 'race'], { groupBy: ['age'] })).toThrow('--group-by "age" is not one of the --sensitive columns. Valid: sex, race');
  });

  it('names the folded group apart from a group already called "(other)"', () => {
    const withOther = prepared(['(other)', 'a', 'b', 'c'], [...repeat('(other)', 9), ...repeat('a', 9), 'b', 'c'], [], []);
    expect(regroup(withOther, ['g'], { minGroupSize: 5 }).prepared.train.groupNames).toEqual(['(other)', 'a', '(other) 2']);
  });
});
