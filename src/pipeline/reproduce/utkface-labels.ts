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
 * writeUtkfaceLabels('../shared/data/utkface/labels.csv', '.fairhead-cache/reproduce/utkface-labels.csv'); // 9778
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
