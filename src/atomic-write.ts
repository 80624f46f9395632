import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from './errors.ts';

/**
 * Write `data` to `file` so that a reader (or a crash) sees either the old file or the complete new one:
 * write `file.<pid>.tmp` beside it, then rename. Creates the parent folder. Errors name the file.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (error) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the temporary file could not be made (e.g. a parent is a file: ENOTDIR); nothing to clean up
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'ENOSPC' || code === 'EEXIST' || code === 'EISDIR') {
      throw new InputError(`${file}: cannot write (${code}); choose another output folder`);
    }
    throw error;
  }
}
