import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.ts';

/**
 * Check, before any work, that `out` can be the output folder: it is a folder, or it does not exist yet and its
 * nearest existing ancestor is a writable folder (the folder is created when the first output is written).
 * Creates nothing, so a run refused later leaves no trace. `option` names the flag in messages.
 *
 * Rule for outputs: every file a run writes goes exactly under the resolved `out` path (`a/../b` is `b`); the
 * embedding cache (`--cache-dir`) is the only other place fairhead writes to.
 *
 * @example
 * checkOutputFolder('results/run-1'); // ok when results/ is a writable folder or does not exist
 * checkOutputFolder('data.csv');      // InputError: --out data.csv: is a file, expected a folder ...
 */
export function checkOutputFolder(out: string, option = '--out'): void {
  let path = resolve(out);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(path) !== path) {
        path = dirname(path);
        continue;
      }
      throw new InputError(`${option} ${out}: cannot use as the output folder (${code ?? String(error)})`);
    }
    if (!isDir) {
      const what = path === resolve(out) ? 'is a file' : `${path} is a file, so no folder can be made inside it`;
      throw new InputError(`${option} ${out}: ${what}; expected an output folder (created if missing)`);
    }
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new InputError(`${option} ${out}: ${path} is not writable; choose another output folder`);
    }
    return;
  }
}
