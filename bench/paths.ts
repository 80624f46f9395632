/**
 * Where the benchmarks find data that the repository does not hold, always from an environment variable (never a
 * fixed path): the UTKFace faces (`FAIRHEAD_UTKFACE`, a folder with images/ and labels.csv) and the paper's PyTorch
 * recipe (`FAIRHEAD_PEER`, a folder with peer.py and make_synth.py). A benchmark that needs one and does not have
 * it stops with one line saying what to set (exit 2). UCI Adult is in the repository (data/adult).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder (with a trailing slash). */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A file of UCI Adult in the repository (adult.data, adult.test). */
export const adultFile = (name: string): string => join(ROOT, 'data', 'adult', name);

const NEEDS: Readonly<Record<'FAIRHEAD_UTKFACE' | 'FAIRHEAD_PEER', { what: string; check: string }>> = {
  FAIRHEAD_UTKFACE: { what: 'the UTKFace folder (images/ and labels.csv)', check: 'labels.csv' },
  FAIRHEAD_PEER: { what: "the folder of the paper's PyTorch recipe (peer.py, make_synth.py)", check: 'peer.py' },
};

/** The folder named by `variable`, or exit 2 with one line naming what to set. */
export function requireFolder(variable: keyof typeof NEEDS, benchmark: string): string {
  const dir = process.env[variable];
  const need = NEEDS[variable];
  if (dir === undefined || dir === '' || !existsSync(join(dir, need.check))) {
    process.stderr.write(`bench ${benchmark}: set ${variable} to ${need.what}${dir ? `; ${join(dir, need.check)} is missing` : ''}\n`);
    process.exit(2);
  }
  return dir;
}
