/**
 * Derived UTKFace labels for the reproduction: the grouped and thresholded columns the two UTKFace tasks need,
 * computed from the shipped `labels.csv` (`file,age,gender,race,...`) and written as a new CSV in a work folder
 * (the images stay where they are; the labels CSV names them relative to the images folder).
 *
 * Derived columns:
 * - `gender`: as given (0 = male, 1 = female), the target of utkface-gender-race (positive class "1" = female);
 * - `gender_name`: "male" / "female", the sensitive attribute of utkface-age-gender;
 * - `race_group`: "white" (race 0) / "non-white" (races 1-4), the sensitive attribute of utkface-gender-race;
 * - `age_at_least_30`: "1" when age >= 30 else "0", the target of utkface-age-gender.
 */
import { writeFileAtomic } from '../../atomic-write.ts';
import { InputError } from '../../errors.ts';
import { columnIndex, readCsvTable } from '../../data/csv-table.ts';

/** The header of the derived labels CSV. */
export const DERIVED_COLUMNS = ['file', 'gender', 'gender_name', 'race_group', 'age_at_least_30'] as const;

/** Age threshold of the utkface-age-gender target. */
export const AGE_THRESHOLD = 30;

/**
 * The derived columns of one UTKFace row (see the module comment). Bad values -> InputError naming the line.
 *
 * @example
 * deriveUtkfaceRow({ file: 'a.jpg', age: '31', gender: '1', race: '2' }, 'labels.csv:2');
 * // ['a.jpg', '1', 'female', 'non-white', '1']
 */
export function deriveUtkfaceRow(row: { file: string; age: string; gender: string; race: string }, where: string): string[] {
  const age = Number(row.age);
  if (row.age.trim() === '' || !Number.isFinite(age)) throw new InputError(`${where}: column "age": expected a number, received "${row.age}"`);
  if (row.gender !== '0' && row.gender !== '1') throw new InputError(`${where}: column "gender": expected 0 (male) or 1 (female), received "${row.gender}"`);
  if (!/^[0-4]$/.test(row.race)) throw new InputError(`${where}: column "race": expected 0..4 (0 = White), received "${row.race}"`);
  return [row.file, row.gender, row.gender === '1' ? 'female' : 'male', row.race === '0' ? 'white' : 'non-white', age >= AGE_THRESHOLD ? '1' : '0'];
}

/**
 * Read UTKFace's `labels.csv` and write the derived labels CSV to `outFile` (atomically), keeping the row order
 * (so the image list, and with it the embedding cache key, is the same for every task). Returns the row count.
 *
 * @example
 * writeUtkfaceLabels('utkface/labels.csv', '.fairhead-cache/reproduce/utkface-labels.csv'); // 9778
 */
export function writeUtkfaceLabels(labelsCsv: string, outFile: string): number {
  const table = readCsvTable(labelsCsv);
  const [f, a, g, r] = ['file', 'age', 'gender', 'race'].map((c) => columnIndex(table, c, `${labelsCsv} column`)) as [number, number, number, number];
  const lines = [DERIVED_COLUMNS.join(',')];
  table.rows.forEach((row, i) => {
    const derived = deriveUtkfaceRow(
      { file: row[f] as string, age: row[a] as string, gender: row[g] as string, race: row[r] as string },
      `${labelsCsv}:${table.lines[i] as number}`,
    );
    if (/[",\n]/.test(derived[0] as string)) throw new InputError(`${labelsCsv}:${table.lines[i] as number}: file name "${derived[0]}" holds a comma or quote`);
    lines.push(derived.join(','));
  });
  writeFileAtomic(outFile, `${lines.join('\n')}\n`);
  return table.rows.length;
}

/**
 * UTKFace's own file names: `{age}_{gender}_{race}_{date and time}.jpg`, optionally followed by `.chip.jpg` (the
 * aligned and cropped faces). Files with a missing field (a few in the original release) do not match.
 */
export const UTKFACE_NAME = /^(\d{1,3})_([01])_([0-4])_\d+\.jpg(\.chip\.jpg)?$/;

/** Images per (gender, race) cell marked `in_balanced_2000` by {@link writeUtkfaceLabelsFromNames}. */
const BALANCED_PER_CELL = 200;

/**
 * Write a `labels.csv` (`file,age,gender,race,in_balanced_2000`) for UTKFace images from their names (files that
 * do not match {@link UTKFACE_NAME} are left out), sorted by name. `in_balanced_2000` marks the first 200 files of
 * each gender x race cell in that order (fewer where a cell has fewer), the subset `--subset` draws from.
 * Returns the row count.
 *
 * @example
 * writeUtkfaceLabelsFromNames(['31_1_2_20170116.jpg.chip.jpg'], 'labels.csv');
 * // labels.csv: file,age,gender,race,in_balanced_2000 / 31_1_2_20170116.jpg.chip.jpg,31,1,2,1
 */
export function writeUtkfaceLabelsFromNames(files: readonly string[], outFile: string): number {
  const perCell = new Map<string, number>();
  const lines = ['file,age,gender,race,in_balanced_2000'];
  for (const file of [...files].sort()) {
    const m = UTKFACE_NAME.exec(file);
    if (m === null) continue;
    const [, age, gender, race] = m as unknown as [string, string, string, string];
    const cell = `${gender}|${race}`;
    const taken = perCell.get(cell) ?? 0;
    perCell.set(cell, taken + 1);
    lines.push(`${file},${age},${gender},${race},${taken < BALANCED_PER_CELL ? 1 : 0}`);
  }
  writeFileAtomic(outFile, `${lines.join('\n')}\n`);
  return lines.length - 1;
}
